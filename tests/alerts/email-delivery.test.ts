import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CapturedMail } from '../../local/mailbox.js';
import { DEMO_CONTACTS, seedDemo, seedDemoMail } from '../../local/seed.js';
import type { LocalStack } from '../../local/stack.js';
import { DynamoAlertStore } from '../../shared/alerts/adapters/alert-store.js';
import { DynamoEmailStore } from '../../shared/alerts/adapters/email-store.js';
import { EventBridgeBus } from '../../shared/alerts/adapters/event-bus.js';
import { DynamoBillingStore } from '../../shared/billing/adapters/billing-store.js';
import { type DomainEvent, domainEvent } from '../../shared/events/domain-events.js';
import { documentClient } from '../../shared/platform/dynamo/client.js';
import { api, createAdminKey, createTenant, directoryOf, eventually, startTestStack } from '../support/stack.js';

/** Every kind of mail, read back at the SMTP level from the local capturing server: headers, both parts, attachments. */
describe('email on the local stack', () => {
  let stack: LocalStack;
  let key: string;
  let admin: string;
  let bus: EventBridgeBus;
  const tech = 'tech@acme.example';
  const billing = 'pay@acme.example';
  const operator = 'operator@meterline.localhost';
  const now = Date.now();
  const monthStart = (t: number, add = 0) => Date.UTC(new Date(t).getUTCFullYear(), new Date(t).getUTCMonth() + add, 1);

  beforeAll(async () => {
    stack = await startTestStack();
    key = await createTenant(stack, 'acme');
    admin = await createAdminKey(stack);
    bus = new EventBridgeBus(new EventBridgeClient({}), stack.env.EVENT_BUS_NAME!);
  });
  afterAll(() => stack?.stop());

  const mails = (to: string, type?: string) =>
    stack.mailbox.messages.filter((m) => m.envelopeTo.includes(to) && (type === undefined || m.headers['x-meterline-event-type'] === type));
  const arrives = async (to: string, type: string, count = 1): Promise<CapturedMail> =>
    (
      await eventually(
        async () => mails(to, type),
        (m) => m.length >= count,
      )
    )[0]!;
  /** Lets the email worker finish what is queued; a duplicate would have arrived by then. */
  const settle = () => new Promise((r) => setTimeout(r, 1500));
  const link = (mail: CapturedMail, path: string) =>
    new RegExp(`(http\\S+/${path}\\?token=[^\\s"&]+(?:&category=\\w+)?)`).exec(mail.text)![1]!;
  const expectBothParts = (mail: CapturedMail) => {
    expect(mail.from).toContain('mail@meterline.localhost');
    expect(mail.headers['content-type']).toMatch(/^multipart\/(alternative|mixed)/);
    expect(mail.text.length).toBeGreaterThan(40);
    expect(mail.html).toMatch(/^<!doctype html>/);
    expect(mail.html).not.toMatch(/<img|src=/);
  };

  it('verifies a recipient by the link in its mail before sending it anything', async () => {
    for (const [address, role] of [
      [tech, 'technical'],
      [billing, 'billing'],
    ] as const) {
      const created = await api(stack, 'POST', '/v1/email/recipients', key, { address: address.toUpperCase(), role });
      expect(created).toMatchObject({ status: 201, body: { address, role, verified: false } });
      const [mail] = await eventually(
        async () => stack.mailbox.messages.filter((m) => m.envelopeTo.includes(address)),
        (m) => m.length === 1,
      );
      expect(mail!.subject).toContain('Confirm');
      expectBothParts(mail!);
      const page = await fetch(link(mail!, 'verify'));
      expect(page.status).toBe(200);
    }
    const listed = await api(stack, 'GET', '/v1/email/recipients', key);
    expect(listed.body.recipients.map((r: { verified: boolean }) => r.verified)).toEqual([true, true]);
    expect(await api(stack, 'POST', '/v1/email/recipients', key, { address: tech, role: 'extra' })).toMatchObject({
      status: 409,
      body: { code: 'CONFLICT', field: 'address' },
    });
    expect(await api(stack, 'POST', '/v1/email/recipients', key, { address: 'not-an-address', role: 'extra' })).toMatchObject({
      status: 400,
      body: { code: 'INVALID_REQUEST', field: 'address' },
    });
    expect((await fetch(`${stack.functionUrls['email-links']}/verify?token=forged.token`)).status).toBe(400);
  });

  it('mails a threshold crossing and a reached quota to the technical contact, once however often the evaluator runs', async () => {
    expect(await api(stack, 'PUT', '/v1/alerts/orders-4', key, { meter: 'orders', threshold: 4, name: 'Four orders' })).toMatchObject({
      status: 201,
    });
    expect(await api(stack, 'PUT', '/v1/admin/tenants/acme/quotas/orders', admin, { limit: 5 })).toMatchObject({ status: 200 });
    const r = await api(
      stack,
      'POST',
      '/v1/events',
      key,
      ['a', 'b', 'c', 'd', 'e'].map((id) => ({ id, meter: 'orders', timestamp: new Date().toISOString() })),
    );
    expect(r.status).toBe(202);
    await stack.drained();
    await stack.runSchedule('alert-evaluator');
    const crossed = await arrives(tech, 'usage.threshold_crossed');
    expectBothParts(crossed);
    expect(crossed.subject).toBe('acme: orders reached 4');
    expect(crossed.text).toMatch(/Usage so far:\s+5/);
    expect(crossed.headers['list-unsubscribe-post']).toBe('List-Unsubscribe=One-Click');
    expect(crossed.headers['x-meterline-email-id']).toMatch(/^em_[0-9a-f]{32}$/);
    const quota = await arrives(tech, 'quota.exceeded');
    expect(quota.text).toMatch(/Quota:\s+5/);
    expect(mails(billing, 'quota.exceeded')).toHaveLength(0);

    // The evaluator again, and a publication of the same event again (a job that crashed before marking it notified).
    await stack.runSchedule('alert-evaluator');
    await bus.put(stack.eventBus.events.map((e) => e.detail as DomainEvent).find((e) => e.type === 'usage.threshold_crossed')!);
    await settle();
    expect(mails(tech, 'usage.threshold_crossed')).toHaveLength(1);
    expect(mails(tech, 'quota.exceeded')).toHaveLength(1);
  });

  it("mails the invoice job's invoice with its PDF to the billing contact, once however often the job runs", async () => {
    const start = monthStart(now, -1);
    expect(
      await api(stack, 'PUT', '/v1/admin/tenants/acme/subscription', admin, { planId: 'base-199', startAt: new Date(start).toISOString() }),
    ).toMatchObject({ status: 201 });
    const due = new Date(monthStart(now) + 73 * 3_600_000);
    expect(await stack.runSchedule('invoicing', due)).toMatchObject({ issued: 1 });
    const mail = await arrives(billing, 'invoice.issued');
    expectBothParts(mail);
    expect(mail.subject).toMatch(/^Invoice \S+ for acme: USD \d+\.\d\d$/);
    expect(mail.attachments).toHaveLength(1);
    expect(mail.attachments[0]).toMatchObject({ contentType: 'application/pdf', filename: expect.stringMatching(/\.pdf$/) });
    expect(mail.attachments[0]!.content.subarray(0, 5).toString()).toBe('%PDF-');
    expect(mails(tech, 'invoice.issued')).toHaveLength(0);
    await stack.runSchedule('invoicing', due);
    await stack.runSchedule('invoicing', new Date(due.getTime() + 3_600_000));
    await settle();
    expect(mails(billing, 'invoice.issued')).toHaveLength(1);
  });

  it('mails spend, payment, operator and unknown kinds, each readable', async () => {
    const period = { start: new Date(monthStart(now)).toISOString(), end: new Date(monthStart(now, 1)).toISOString() };
    const at = new Date().toISOString();
    const events: DomainEvent[] = [
      domainEvent(
        'spend.threshold_crossed',
        'acme',
        's',
        { alertId: 's', basis: 'projected', threshold: '100', value: '120.50', currency: 'USD', period },
        at,
      ),
      domainEvent(
        'invoice.payment_failed',
        'acme',
        'evt_1',
        { stripeInvoiceId: 'in_1', number: 'ML-1', currency: 'USD', total: '199.00' },
        at,
      ),
      domainEvent(
        'stripe.report_failed',
        'acme',
        'r',
        { source: 'usage_report', errors: [{ meter: 'orders', day: '2026-12-01', code: 'rate_limit', message: 'slow down' }] },
        at,
      ),
      domainEvent(
        'reconciliation.mismatch',
        'acme',
        'in_2',
        { stripeInvoiceId: 'in_2', period, mismatches: [{ kind: 'quantity', meter: 'orders', stripe: '5', meterline: '6' }] },
        at,
      ),
      {
        ...domainEvent('quota.exceeded', 'acme', 'x', { meter: 'orders', limit: '1', value: '1', period }, at),
        type: 'usage.silent',
        id: 'usage.silent:acme:1',
        data: { meter: 'orders', silentSince: at, expectedEveryMinutes: 15 },
      } as never,
    ];
    for (const e of events) await bus.put(e);
    expect((await arrives(billing, 'spend.threshold_crossed')).text).toMatch(/Projected cost:\s+USD 120\.50/);
    expect((await arrives(billing, 'invoice.payment_failed')).subject).toBe('acme: payment of invoice ML-1 failed');
    const report = await arrives(operator, 'stripe.report_failed');
    expectBothParts(report);
    expect(report.text).toContain('rate_limit: slow down');
    expect(report.headers['list-unsubscribe']).toBeUndefined();
    expect((await arrives(operator, 'reconciliation.mismatch')).text).toContain('Stripe 5, Meterline 6');
    // A kind this code does not know: the generic message, to the technical contact and (silence) the operators.
    const silent = await arrives(tech, 'usage.silent');
    expect(silent.subject).toBe('acme: usage silent');
    expect(silent.text).toMatch(/Expected every minutes:\s+15/);
    await arrives(operator, 'usage.silent');
    expect(mails(tech, 'stripe.report_failed')).toHaveLength(0);
  });

  it('stops sending to an address SES reports bounced, and unsubscribes in one click', async () => {
    const bounce = {
      version: '0',
      source: 'aws.ses',
      'detail-type': 'Email Bounced',
      detail: {
        eventType: 'Bounce',
        bounce: { bounceType: 'Permanent', bounceSubType: 'General', bouncedRecipients: [{ emailAddress: billing, status: '5.1.1' }] },
        mail: { messageId: 'm', destination: [billing] },
      },
    };
    await stack.sqs.send(new SendMessageCommand({ QueueUrl: stack.queues.emailQueueUrl, MessageBody: JSON.stringify(bounce) }));
    await settle();
    const period = { start: new Date(monthStart(now)).toISOString(), end: new Date(monthStart(now, 1)).toISOString() };
    await bus.put(
      domainEvent(
        'spend.threshold_crossed',
        'acme',
        's2',
        { alertId: 's2', basis: 'current', threshold: '1', value: '2', currency: 'USD', period },
        new Date().toISOString(),
      ),
    );
    const log = await eventually(
      async () =>
        (await api(stack, 'GET', '/v1/email/messages', key)).body.messages as { to: string; status: string; about: { eventId?: string } }[],
      (m) => m.some((x) => x.about.eventId === 'spend.threshold_crossed:acme:s2'),
    );
    await settle();
    expect(mails(billing, 'spend.threshold_crossed')).toHaveLength(1);
    expect(
      (await api(stack, 'GET', '/v1/email/messages', key)).body.messages.find(
        (x: { about: { eventId?: string } }) => x.about.eventId === 'spend.threshold_crossed:acme:s2',
      ),
    ).toMatchObject({ to: billing, status: 'suppressed' });
    expect(log.length).toBeGreaterThan(0);

    const crossed = mails(tech, 'usage.threshold_crossed')[0]!;
    const oneClick = /<([^>]+)>/.exec(crossed.headers['list-unsubscribe']!)![1]!;
    const answer = await fetch(oneClick, {
      method: 'POST',
      body: 'List-Unsubscribe=One-Click',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(answer.status).toBe(200);
    const recipients = (await api(stack, 'GET', '/v1/email/recipients', key)).body.recipients;
    expect(recipients.find((r: { address: string }) => r.address === tech)).toMatchObject({ categories: [] });
  });

  // On the same stack: a second stack in this process would find the email worker's module holding the first one's
  // SMTP server, as a warm Lambda keeps its clients.
  it("mails the demo tenant's technical contact, as npm start seeds it, when orders cross 80% of the quota", async () => {
    const db = documentClient(stack.dynamo);
    const seed = await seedDemo(directoryOf(stack), new DynamoBillingStore(db, stack.env.BILLING_TABLE!));
    await seedDemoMail(new DynamoAlertStore(db, stack.env.TENANTS_TABLE!), new DynamoEmailStore(db, stack.env.WEBHOOKS_TABLE!));
    const orders = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => ({ id: `o-${from + i}`, meter: 'orders', timestamp: new Date().toISOString() }));
    for (const batch of [orders(0, 1000), orders(1000, 999)]) await api(stack, 'POST', '/v1/events', seed.tenantKey, batch);
    await stack.drained();
    await stack.runSchedule('alert-evaluator');
    await new Promise((r) => setTimeout(r, 1000));
    const demoMail = () => stack.mailbox.messages.filter((m) => m.envelopeTo.includes(DEMO_CONTACTS.technical));
    expect(demoMail().filter((m) => m.headers['x-meterline-event-type'] === 'usage.threshold_crossed')).toHaveLength(0);
    await api(stack, 'POST', '/v1/events', seed.tenantKey, orders(1999, 1));
    await stack.drained();
    await stack.runSchedule('alert-evaluator');
    const [mail] = await eventually(
      async () => demoMail(),
      (m) => m.length === 1,
    );
    expect(mail!.subject).toBe('Optical Labs Inc. (demo): orders reached 80% of its quota');
    expect(mail!.text).toMatch(/Threshold:\s+2000/);
  });
});
