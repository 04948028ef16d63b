import { describe, expect, it } from 'vitest';
import type { Email, EmailAttempt, EmailStatus, EmailWork, Recipient } from '../../shared/alerts/email.js';
import { type EmailPorts, mailEvent, requestVerification, workEmail } from '../../shared/alerts/email-delivery.js';
import type { OutgoingMail } from '../../shared/alerts/ports.js';
import { domainEvent } from '../../shared/events/domain-events.js';

/**
 * The email worker over a store, queue and sender in memory, at a clock the test moves: what each email ends as,
 * what was sent with which headers, and what went back on the queue.
 */
const t0 = Date.parse('2026-12-10T12:00:00Z');
const period = { start: '2026-12-01T00:00:00.000Z', end: '2027-01-01T00:00:00.000Z' };
const quota = domainEvent('quota.exceeded', 'acme', 'orders:2026-12', { meter: 'orders', limit: '10', value: '12', period }, period.start);
const recipient = (address: string, role: Recipient['role'], categories: Recipient['categories']): Recipient => ({
  tenantId: 'acme',
  address,
  role,
  categories,
  createdAt: period.start,
  verifiedAt: period.start,
});

function world(o: { failSends?: number; suppressed?: string[]; claims?: boolean } = {}) {
  let now = t0;
  const emails = new Map<string, Email>();
  const sent: OutgoingMail[] = [];
  const queued: [EmailWork, number][] = [];
  let failures = o.failSends ?? 0;
  const recipients = [recipient('ops@acme.example', 'technical', ['usage']), recipient('pay@acme.example', 'billing', ['billing'])];
  const ports: EmailPorts = {
    store: {
      listRecipients: async () => recipients,
      getRecipient: async (_t: string, address: string) => recipients.find((r) => r.address === address),
      createEmail: async (email: Email) => {
        if (!emails.has(email.id)) emails.set(email.id, email);
        return emails.get(email.id)!;
      },
      getEmail: async (_t: string, id: string) => emails.get(id),
      claimEmail: async () => o.claims ?? true,
      suppressed: async (address: string) =>
        o.suppressed?.includes(address) ? { reason: 'bounced (General)', at: period.start } : undefined,
      recordEmailAttempt: async (
        _t: string,
        id: string,
        attempt: EmailAttempt,
        outcome: { status: EmailStatus; nextAttemptAt?: string },
      ) => {
        const e = emails.get(id)!;
        emails.set(id, { ...e, ...outcome, attempts: [...e.attempts, attempt] });
      },
    } as never,
    queue: { send: async (work, delay) => void queued.push([work, delay]) },
    sender: {
      send: async (mail) => {
        if (failures > 0) {
          failures -= 1;
          throw new Error('Throttling: Maximum sending rate exceeded.');
        }
        sent.push(mail);
        return `msg-${sent.length}`;
      },
    },
    from: 'Meterline <mail@meterline.example>',
    operators: ['oncall@meterline.example'],
    tenantName: async () => 'Acme',
    dashboardUrl: 'https://dash.example',
    link: async (purpose, _t, address, category) => `https://links.example/${purpose}?a=${address}${category ? `&c=${category}` : ''}`,
    attachments: async () => [],
    retryBaseSeconds: 60,
    now: () => now,
    random: () => 0,
  };
  return { ports, emails, sent, queued, advance: (ms: number) => (now += ms) };
}

describe('mailing a domain event', () => {
  it("sends usage news to the tenant's usage recipients with their preferences and one-click unsubscribe links", async () => {
    const w = world();
    expect(await mailEvent(w.ports, quota)).toEqual(['sent']);
    const [mail] = w.sent;
    expect(mail).toMatchObject({ to: 'ops@acme.example', subject: 'Acme: the orders quota is used up' });
    expect(mail!.headers).toMatchObject({
      'List-Unsubscribe': '<https://links.example/unsubscribe?a=ops@acme.example&c=usage>',
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      'X-Meterline-Event-Id': quota.id,
      'X-Meterline-Event-Type': 'quota.exceeded',
    });
    expect(mail!.text).toContain('https://links.example/preferences?a=ops@acme.example');
  });

  it('sends operations news to the operators only, without tenant preferences to change', async () => {
    const w = world();
    const failed = domainEvent(
      'stripe.report_failed',
      'acme',
      'r1',
      { source: 'usage_report', errors: [{ code: 'E', message: 'm' }] },
      period.start,
    );
    expect(await mailEvent(w.ports, failed)).toEqual(['sent']);
    expect(w.sent[0]!.to).toBe('oncall@meterline.example');
    expect(w.sent[0]!.headers['List-Unsubscribe']).toBeUndefined();
    expect(w.sent[0]!.text).toContain('You receive this as a Meterline operator.');
  });

  it('mails nothing for a kind no one receives, and sends nothing twice when the same event comes again', async () => {
    const w = world();
    const quarantined = domainEvent(
      'event.quarantined',
      'acme',
      'q1',
      { eventId: 'e', meter: 'orders', reason: 'r', receivedAt: period.start },
      period.start,
    );
    expect(await mailEvent(w.ports, quarantined)).toEqual([]);
    await mailEvent(w.ports, quota);
    expect(await mailEvent(w.ports, quota)).toEqual(['skipped']);
    expect(w.sent).toHaveLength(1);
  });
});

describe('one attempt of an email', () => {
  it('puts work that is not due yet back on the queue, at most 15 minutes a hop', async () => {
    const w = world();
    const due = new Date(t0 + 3_600_000).toISOString();
    expect(await workEmail(w.ports, { tenantId: 'acme', emailId: 'x', dueAt: due, seriesStart: due })).toBe('waiting');
    expect(w.queued).toEqual([[{ tenantId: 'acme', emailId: 'x', dueAt: due, seriesStart: due }, 900]]);
  });

  it('skips an email another worker holds, and records a suppressed address without sending', async () => {
    const held = world({ claims: false });
    expect(await mailEvent(held.ports, quota)).toEqual(['skipped']);
    expect(held.sent).toEqual([]);
    const bounced = world({ suppressed: ['ops@acme.example'] });
    expect(await mailEvent(bounced.ports, quota)).toEqual(['suppressed']);
    const [email] = [...bounced.emails.values()];
    expect(email).toMatchObject({ status: 'suppressed', attempts: [{ error: 'suppressed: bounced (General)' }] });
    expect(bounced.sent).toEqual([]);
  });

  it("retries a failed send with webhook deliveries' backoff, and fails the email once its 24 hours are over", async () => {
    const w = world({ failSends: 100 });
    expect(await mailEvent(w.ports, quota)).toEqual(['retrying']);
    const [email] = [...w.emails.values()];
    expect(email).toMatchObject({ status: 'pending', nextAttemptAt: new Date(t0 + 60_000).toISOString() });
    expect(email!.attempts[0]!.error).toBe('Throttling: Maximum sending rate exceeded.');
    expect(w.queued.at(-1)).toEqual([expect.objectContaining({ dueAt: new Date(t0 + 60_000).toISOString() }), 60]);
    w.advance(24 * 3_600_000);
    const work = w.queued.at(-1)![0];
    expect(await workEmail(w.ports, { ...work, dueAt: new Date(t0 + 24 * 3_600_000).toISOString() })).toBe('failed');
    expect(w.emails.get(email!.id)!.status).toBe('failed');
  });
});

describe('verification mail', () => {
  it('asks again with a new email each time, and sends the verification link without preferences', async () => {
    const w = world();
    const first = await requestVerification(w.ports, 'acme', 'new@acme.example');
    w.advance(1000);
    const second = await requestVerification(w.ports, 'acme', 'new@acme.example');
    expect(second.id).not.toBe(first.id);
    expect(w.queued.map(([work, delay]) => [work.emailId, delay])).toEqual([
      [first.id, 0],
      [second.id, 0],
    ]);
    expect(await workEmail(w.ports, w.queued[0]![0])).toBe('sent');
    expect(w.sent[0]!.text).toContain('https://links.example/verify?a=new@acme.example');
    expect(w.sent[0]!.headers['List-Unsubscribe']).toBeUndefined();
  });
});
