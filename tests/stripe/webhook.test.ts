import fc from 'fast-check';
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { createStripeWebhook, type StripeWebhookDependencies } from '../../functions/stripe-webhook/stripe-webhook.js';
import { lambdaContext } from '../../local/lambda.js';
import { fixture } from '../../local/stripe-emulator/fixtures.js';
import type { HttpEvent, HttpResult } from '../../shared/platform/http.js';
import { stripeClient } from '../../shared/stripe/adapters/client.js';
import { StripeWebhookAdapter } from '../../shared/stripe/adapters/webhooks.js';
import { type BillingIssue, type Mirrored, type SubscriptionState, UnprocessableNotification } from '../../shared/stripe/mirror.js';
import { officialSample } from '../support/events.js';

const SECRET = 'whsec_unit_test';
const now = () => Math.floor(Date.now() / 1000);

function subscriptionEvent(id: string, created: number, status: string) {
  return {
    id,
    object: 'event',
    api_version: '2026-10-28.endive',
    created,
    type: 'customer.subscription.updated',
    data: {
      object: {
        id: 'sub_1',
        object: 'subscription',
        customer: 'cus_1',
        status,
        cancel_at_period_end: false,
        canceled_at: null,
        items: { object: 'list', data: [] },
      },
    },
  };
}

/** The webhook function with real signature verification and an in-memory store. */
function webhook(
  fetched: SubscriptionState = {
    id: 'sub_1',
    customerId: 'cus_1',
    status: 'fetched',
    cancelAtPeriodEnd: false,
    canceledAt: null,
    items: [],
  },
) {
  const adapter = new StripeWebhookAdapter(async () => ({
    stripe: stripeClient({ secretKey: 'sk_test_unit', apiBase: 'http://127.0.0.1:9' }),
    secrets: { secretKey: 'sk_test_unit', webhookSecret: SECRET },
  }));
  const handled = new Set<string>();
  const subscriptions = new Map<string, Mirrored<SubscriptionState>>();
  const alerts: BillingIssue[] = [];
  const held: { id: string; until: number }[] = [];
  let writes = 0;
  const deps: StripeWebhookDependencies = {
    verify: (raw, signature) => adapter.verify(raw, signature),
    provider: {
      subscription: async () => fetched,
      invoiceLines: async () => [],
      eventNameOfPrice: async () => null,
      meterErrorReport: async () => ({ meterId: null, summary: '', errors: [] }),
      holdDraft: async (id, until) => held.push({ id, until }) > 0,
    },
    store: {
      seenEvent: async (id) => handled.has(id),
      markEventHandled: async (id) => void handled.add(id),
      tenantOfCustomer: async (c) => (c === 'cus_1' ? 'acme' : undefined),
      subscription: async (_t, id) => subscriptions.get(id),
      putSubscription: async (_t, m) => {
        writes += 1;
        const stored = subscriptions.get(m.state.id);
        if (stored && stored.eventCreated > m.eventCreated) return false;
        subscriptions.set(m.state.id, m);
        return true;
      },
      invoice: async () => undefined,
      putInvoice: async () => true,
      raiseIssue: async (a) => void alerts.push(a),
    },
    meters: async () => [],
    invoices: { invoiceForPeriod: async () => undefined, followProviderInvoice: async () => undefined },
    publish: async () => undefined,
    now: Date.now,
    graceHours: 72,
  };
  const handler = createStripeWebhook(deps);
  const invoke = (event: HttpEvent) => handler(event, lambdaContext('stripe-webhook')) as Promise<HttpResult>;
  const sample = officialSample<HttpEvent>('lambda-urls-request.json');
  const deliver = (
    payload: unknown,
    o: { secret?: string; timestamp?: number; tamper?: (body: string) => string; base64?: boolean; signature?: string | null } = {},
  ) => {
    const body = JSON.stringify(payload);
    const signature =
      o.signature === null
        ? undefined
        : (o.signature ??
          Stripe.webhooks.generateTestHeaderString({ payload: body, secret: o.secret ?? SECRET, timestamp: o.timestamp ?? now() }));
    const sent = o.tamper ? o.tamper(body) : body;
    return invoke({
      ...sample,
      headers: { 'content-type': 'application/json', ...(signature ? { 'stripe-signature': signature } : {}) },
      body: o.base64 ? Buffer.from(sent).toString('base64') : sent,
      isBase64Encoded: o.base64 ?? false,
    });
  };
  return { invoke, deliver, sample, subscriptions, alerts, held, deps, writes: () => writes };
}

describe('Stripe webhook', () => {
  it('answers the official function URL sample (no signature) with 400', async () => {
    const w = webhook();
    expect(await w.invoke(w.sample)).toMatchObject({ statusCode: 400 });
  });

  it('accepts a valid signature, also on a base64-encoded body', async () => {
    const w = webhook();
    expect(await w.deliver(subscriptionEvent('evt_1', now(), 'active'))).toMatchObject({ statusCode: 200 });
    expect(await w.deliver(subscriptionEvent('evt_2', now() + 1, 'past_due'), { base64: true })).toMatchObject({ statusCode: 200 });
    expect(w.subscriptions.get('sub_1')?.state.status).toBe('past_due');
  });

  it('rejects a wrong secret, a tampered body, a missing header and an old timestamp with 400', async () => {
    const w = webhook();
    const event = subscriptionEvent('evt_1', now(), 'active');
    expect(await w.deliver(event, { secret: 'whsec_wrong' })).toMatchObject({ statusCode: 400 });
    expect(await w.deliver(event, { tamper: (b) => b.replace('active', 'canceled') })).toMatchObject({ statusCode: 400 });
    expect(await w.deliver(event, { signature: null })).toMatchObject({ statusCode: 400 });
    expect(await w.deliver(event, { timestamp: now() - 301 })).toMatchObject({ statusCode: 400 });
    expect(await w.deliver(event, { timestamp: now() - 290 })).toMatchObject({ statusCode: 200 });
    expect(w.writes()).toBe(1);
  });

  it('has one effect for an event delivered twice', async () => {
    const w = webhook();
    const event = subscriptionEvent('evt_1', now(), 'active');
    expect(await w.deliver(event)).toMatchObject({ statusCode: 200 });
    const again = await w.deliver(event);
    expect(again).toMatchObject({ statusCode: 200 });
    expect(JSON.parse(again.body!)).toMatchObject({ duplicate: true });
    expect(w.writes()).toBe(1);
  });

  it('ends in the newest state whatever the arrival order; a tie is fetched from Stripe', async () => {
    const w = webhook();
    const t = now();
    await w.deliver(subscriptionEvent('evt_3', t + 2, 'canceled'));
    await w.deliver(subscriptionEvent('evt_1', t, 'active'));
    await w.deliver(subscriptionEvent('evt_2', t + 1, 'past_due'));
    expect(w.subscriptions.get('sub_1')).toMatchObject({ eventId: 'evt_3', state: { status: 'canceled' } });
    await w.deliver(subscriptionEvent('evt_4', t + 2, 'active'));
    expect(w.subscriptions.get('sub_1')).toMatchObject({ eventId: 'evt_4', state: { status: 'fetched' } });
  });

  it("holds a period's draft until Meterline's grace window has passed and the invoice job has run", async () => {
    const w = webhook();
    const periodEnd = now() - 3600;
    const invoiceEvent = (id: string, object: object) => ({
      id,
      object: 'event',
      created: now(),
      type: 'invoice.created',
      data: {
        object: fixture('invoice', { id: 'in_1', customer: 'cus_1', lines: { object: 'list', data: [], has_more: false }, ...object }),
      },
    });
    const cycle = { status: 'draft', period_start: periodEnd - 30 * 86_400, period_end: periodEnd };
    expect(await w.deliver(invoiceEvent('evt_draft', cycle))).toMatchObject({ statusCode: 200 });
    // A first invoice (period start = end) and a period whose grace has long passed are left to Stripe's own timing.
    await w.deliver(invoiceEvent('evt_first', { ...cycle, period_start: periodEnd }));
    await w.deliver(invoiceEvent('evt_old', { ...cycle, period_end: periodEnd - 80 * 3600 }));
    expect(w.held).toEqual([{ id: 'in_1', until: periodEnd + (72 + 2) * 3600 }]);
  });

  it('acknowledges event types it does not handle with 200 and no effect', async () => {
    const w = webhook();
    const res = await w.deliver({ ...subscriptionEvent('evt_9', now(), 'active'), type: 'charge.refunded' });
    expect(res).toMatchObject({ statusCode: 200 });
    expect(w.writes()).toBe(0);
  });

  it('answers 200 to signed events it can never process, keeps each as an alert, and acts on one resent once readable', async () => {
    const w = webhook();
    const emptyInvoice = { id: 'evt_empty', object: 'event', created: now(), type: 'invoice.finalized', data: { object: {} } };
    const noData = { id: 'evt_no_data', object: 'event', created: now(), type: 'customer.subscription.updated' };
    for (const event of [emptyInvoice, noData]) {
      const res = await w.deliver(event);
      expect({ status: res.statusCode, body: JSON.parse(String(res.body)) }).toMatchObject({
        status: 200,
        body: { received: true, unprocessable: expect.stringContaining(event.type) },
      });
    }
    // A tenant-less fetch Stripe refuses for good, and data the code cannot read, while acting on a readable event.
    w.deps.store.tenantOfCustomer = async () => {
      throw new UnprocessableNotification('Stripe refused a fetch: No such customer');
    };
    expect(await w.deliver(subscriptionEvent('evt_refused', now(), 'active'))).toMatchObject({ statusCode: 200 });
    w.deps.store.tenantOfCustomer = async () => (undefined as unknown as { x: string }).x;
    expect(await w.deliver(subscriptionEvent('evt_typeerror', now(), 'active'))).toMatchObject({ statusCode: 200 });
    expect(w.alerts.map((a) => [a.id, a.kind, a.tenantId])).toEqual(
      ['evt_empty', 'evt_no_data', 'evt_refused', 'evt_typeerror'].map((id) => [
        `unprocessable-webhook:${id}`,
        'UNPROCESSABLE_WEBHOOK',
        undefined,
      ]),
    );
    expect(w.alerts[0]!.details).toMatchObject({ eventId: 'evt_empty', type: 'invoice.finalized', reason: expect.any(String) });

    // Not marked handled: once the cause is fixed, the event resent (here readable) is acted on.
    w.deps.store.tenantOfCustomer = async (c) => (c === 'cus_1' ? 'acme' : undefined);
    expect(await w.deliver(subscriptionEvent('evt_no_data', now(), 'active'))).toMatchObject({ statusCode: 200 });
    expect(w.subscriptions.get('sub_1')?.eventId).toBe('evt_no_data');
  });

  it('answers 500 to a transient failure (DynamoDB throttling), so Stripe delivers the event again', async () => {
    const w = webhook();
    w.deps.store.tenantOfCustomer = async () => {
      throw Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), {
        name: 'ProvisionedThroughputExceededException',
      });
    };
    expect(await w.deliver(subscriptionEvent('evt_throttled', now(), 'active'))).toMatchObject({ statusCode: 500 });
    expect(w.alerts).toEqual([]);
  });

  it('refuses a valid signature stamped beyond the tolerance in the future, as in the past (stripe-node checks only the past)', async () => {
    const w = webhook();
    const event = subscriptionEvent('evt_future', now(), 'active');
    expect(await w.deliver(event, { timestamp: now() + 3600 })).toMatchObject({ statusCode: 400 });
    expect(await w.deliver(event, { timestamp: now() + 10 * 365 * 86_400 })).toMatchObject({ statusCode: 400 });
    expect(await w.deliver(event, { timestamp: now() + 60 })).toMatchObject({ statusCode: 200 });
  });

  it('answers a signed null, array, number or string body 200 and raises an UNPROCESSABLE_WEBHOOK issue', async () => {
    for (const body of [null, [], [subscriptionEvent('evt_in_array', now(), 'active')], 5, 'evt', {}, { id: 5, type: 'x' }]) {
      const w = webhook();
      const res = await w.deliver(body);
      expect(res, JSON.stringify(body)).toMatchObject({ statusCode: 200 });
      expect(w.alerts.map((a) => a.kind)).toEqual(['UNPROCESSABLE_WEBHOOK']);
    }
  });

  it('answers any JSON body with a valid signature 2xx or 4xx, never 5xx (property)', async () => {
    const w = webhook();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.jsonValue(), fc.record({ id: fc.jsonValue(), type: fc.jsonValue(), data: fc.jsonValue() })),
        async (body) => {
          const res = await w.deliver(body);
          expect(res.statusCode).toBeGreaterThanOrEqual(200);
          expect(res.statusCode).toBeLessThan(500);
        },
      ),
      { numRuns: 200 },
    );
  });
});
