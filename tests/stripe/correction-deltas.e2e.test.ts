import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { DynamoBillingStore } from '../../shared/billing/adapters/billing-store.js';
import { newSubscription } from '../../shared/billing/subscriptions.js';
import { Dec } from '../../shared/kernel/decimal.js';
import { periodStart } from '../../shared/kernel/periods.js';
import type { Meter } from '../../shared/metering/meters.js';
import { documentClient } from '../../shared/platform/dynamo/client.js';
import { DynamoStripeStore } from '../../shared/stripe/adapters/stripe-store.js';
import { meterReporting, scaledQuantity } from '../../shared/stripe/meter-reporting.js';
import { crashingCorrections } from '../support/faults.js';
import { api, createTenant, startTestStack } from '../support/stack.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const thisMonth = periodStart('month', Date.now());
// The previous calendar month is wholly past; a long grace window keeps it open to ingest and correct whatever today's date.
const month = { start: periodStart('month', thisMonth - 1), end: thisMonth };
const dayAt = (n: number) => month.start + (n - 1) * DAY;

/**
 * Voids and replacements of SUM events reach Stripe as the day's difference: after corrections in the open period
 * (some through a store that crashes before or after its one write, then retried with the same correction id),
 * Stripe's sum meter equals Meterline's counters; once Stripe invoiced the period, a fall is flagged, not sent.
 */
describe('corrections reach Stripe', () => {
  let stack: LocalStack;
  let key: string;
  let store: DynamoStripeStore;
  let clock: number | undefined;
  const tokens: Meter = { key: 'tokens', name: 'Tokens', unit: 'token', aggregation: 'SUM', groupBy: [] };
  const eventName = meterReporting(tokens).eventName;
  /** Ground truth: each event's current value (absent once voided). */
  const truth = new Map<string, { day: number; value: string }>();
  const report = async (at: number) => {
    clock = at;
    return stack.runReport(new Date(at));
  };
  const stripeSum = async () => {
    const customer = await store.customerOf('fixer');
    return stack
      .stripe!.meterEvents()
      .filter((e) => e.event_name === eventName && e.payload.stripe_customer_id === customer)
      .reduce((s, e) => s.plus(e.payload.value), new Dec(0))
      .toFixed();
  };
  const truthSum = () => scaledQuantity([...truth.values()].reduce((s, e) => s.plus(e.value), new Dec(0)).toFixed(), 1000);
  const correct = (id: string, body: object) => api(stack, 'POST', `/v1/events/${id}/corrections`, key, body);

  beforeAll(async () => {
    stack = await startTestStack({ env: { GRACE_PERIOD_HOURS: String(45 * 24) }, stripe: { now: () => clock ?? Date.now() } });
    stack.stripe!.setWebhook(undefined);
    store = new DynamoStripeStore(documentClient(stack.dynamo), stack.env.STRIPE_TABLE!);
    const billing = new DynamoBillingStore(documentClient(stack.dynamo), stack.env.BILLING_TABLE!);
    key = await createTenant(stack, 'fixer', [tokens]);
    await billing.putPlan({
      id: 'tokens-only',
      name: 'Tokens only',
      currency: 'USD',
      interval: 'month',
      baseFee: '0',
      prices: { tokens: { model: 'perUnit', unitPrice: '0.01' } },
    });
    await billing.putSubscription(
      newSubscription({
        tenantId: 'fixer',
        planId: 'tokens-only',
        interval: 'month',
        currency: 'USD',
        startAt: month.start,
        now: month.start,
      }),
    );
    const events = [
      ['e1', 3, '10'],
      ['e2', 3, '20'],
      ['e3', 4, '30'],
      ['e4', 4, '40'],
      ['e5', 5, '50.5'],
    ] as const;
    for (const [id, day, value] of events) truth.set(id, { day, value });
    const body = events.map(([id, day, value]) => ({ id, meter: 'tokens', timestamp: new Date(dayAt(day) + HOUR).toISOString(), value }));
    expect(await api(stack, 'POST', '/v1/events', key, body)).toMatchObject({ status: 202, body: { accepted: 5 } });
    await stack.drained();
  });
  afterAll(() => stack.stop());

  it("sends the open period's corrections as deltas, once, even when a correction crashed between its writes", async () => {
    const due = dayAt(27) + HOUR;
    expect(await report(due)).toMatchObject({ failed: 0, errors: [] });
    expect(await stripeSum()).toBe(truthSum());

    // Through the API: a void and a replacement, each repeated with its correction id.
    for (const [id, body] of [
      ['e1', { correctionId: 'void-e1', action: 'void' }],
      ['e2', { correctionId: 'fix-e2', action: 'replace', value: '25' }],
    ] as const) {
      expect((await correct(id, body)).status).toBe(201);
      expect((await correct(id, body)).status).toBe(200);
    }
    truth.delete('e1');
    truth.set('e2', { day: 3, value: '25' });

    // Through a store whose one transaction crashes before it, or commits and loses its answer; retried as a caller would.
    const { crashNext, replace } = crashingCorrections(stack, 'fixer', tokens);
    for (const [when, id, correctionId, value] of [
      ['before', 'e3', 'crash-e3', '5'],
      ['after', 'e5', 'crash-e5', '60.25'],
    ] as const) {
      crashNext(when);
      await expect(replace(id, correctionId, value)).rejects.toThrow(/crashed/);
      expect(await replace(id, correctionId, value)).toMatchObject({ duplicate: when === 'after' });
      truth.set(id, { ...truth.get(id)!, value });
    }

    const sent = await report(due);
    expect(sent).toMatchObject({ sent: 3, failed: 0, errors: [] });
    expect(await stripeSum()).toBe(truthSum());
    expect(await report(due)).toMatchObject({ sent: 0, failed: 0 });
  });

  it('flags a void after Stripe invoiced the period once, and sends nothing for it', async () => {
    expect(await report(month.end + HOUR / 2)).toMatchObject({ failed: 0, errors: [] });
    const billed = await stripeSum();
    expect(billed).toBe(truthSum());
    await stack.stripe!.finalizeInvoice((await store.subscriptionLink('fixer'))!.subscriptionId, {
      start: month.start / 1000,
      end: month.end / 1000,
    });
    expect((await correct('e4', { correctionId: 'void-e4', action: 'void' })).status).toBe(201);
    expect(await report(month.end + 2 * HOUR)).toMatchObject({
      sent: 0,
      failed: 1,
      errors: [expect.objectContaining({ code: 'NEGATIVE_CORRECTION' })],
    });
    expect(await report(month.end + 3 * HOUR)).toMatchObject({ sent: 0, failed: 0 });
    expect(await stripeSum()).toBe(billed);
  });
});
