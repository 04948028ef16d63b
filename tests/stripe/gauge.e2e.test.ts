import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { DynamoBillingStore } from '../../shared/billing/adapters/billing-store.js';
import { newSubscription, periodAt } from '../../shared/billing/subscriptions.js';
import { Dec } from '../../shared/kernel/decimal.js';
import { oldestOpenInstant, periodStart } from '../../shared/kernel/periods.js';
import { seedMeters } from '../../shared/metering/seed-meters.js';
import { documentClient } from '../../shared/platform/dynamo/client.js';
import { stripeClient } from '../../shared/stripe/adapters/client.js';
import { DynamoStripeStore } from '../../shared/stripe/adapters/stripe-store.js';
import { meterReporting } from '../../shared/stripe/meter-reporting.js';
import { api, createTenant, eventually, startTestStack } from '../support/stack.js';

/**
 * A storage gauge over a whole anchored billing period: readings through the API, the report job run
 * once per day, Meterline's invoicing closing the period, Stripe finalizing its invoice, reconciliation.
 */
const DAY = 86_400_000;
const HOUR = 3_600_000;
const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
// Started 31 days ago: its first monthly period (28 to 31 days) has ended by today.
const startAt = today - 31 * DAY;
const storage = seedMeters.find((m) => m.key === 'storage_gb')!;
const eventName = meterReporting(storage).eventName;

describe('a storage gauge reported to Stripe in GB-months', () => {
  let stack: LocalStack;
  let billing: DynamoBillingStore;
  let store: DynamoStripeStore;
  let stripe: Stripe;
  // The report runs play whole days of the past: Stripe's clock (the emulator's) is set to each run's time.
  let clock: number | undefined;
  const sub = newSubscription({ tenantId: 'vault', planId: 'storage-only', interval: 'month', currency: 'USD', startAt, now: startAt });
  const period = periodAt(sub, startAt);
  const first = Math.max(period.start, oldestOpenInstant(Date.now(), 72)) + HOUR;
  const seconds = { start: period.start / 1000, end: period.end / 1000 };
  const storageEvents = (customer: string) =>
    stack.stripe!.meterEvents().filter((e) => e.event_name === eventName && e.payload.stripe_customer_id === customer);

  beforeAll(async () => {
    stack = await startTestStack({ stripe: { now: () => clock ?? Date.now() } });
    billing = new DynamoBillingStore(documentClient(stack.dynamo), stack.env.BILLING_TABLE!);
    store = new DynamoStripeStore(documentClient(stack.dynamo), stack.env.STRIPE_TABLE!);
    stripe = stripeClient({ secretKey: stack.stripe!.apiKey, apiBase: stack.stripe!.url });
    const key = await createTenant(stack, 'vault');
    await billing.putPlan({
      id: 'storage-only',
      name: 'Storage only',
      currency: 'USD',
      interval: 'month',
      baseFee: '0',
      prices: { storage_gb: { model: 'perUnit', unitPrice: '1.00' } },
    });
    expect(await billing.putSubscription(sub)).toBe(true);
    // Readings on a few days only (ingest takes none before the oldest open period): every day in between carries the last one forward.
    const span = period.end - first;
    const reading = (id: string, at: number, value: number) => ({ id, meter: 'storage_gb', timestamp: new Date(at).toISOString(), value });
    const events = [
      reading('r1', first, 40),
      reading('r2', first + span / 3, 100.5),
      reading('r3', first + span / 2, 7.25),
      reading('r4', first + (span * 3) / 4, 12.125),
    ];
    expect(await api(stack, 'POST', '/v1/events', key, { events })).toMatchObject({ status: 202 });
    await stack.drained();
  });
  afterAll(() => stack.stop());

  it("sends one share a day whose sum is Meterline's GB-months for the period", async () => {
    for (let at = period.start; at < period.end; at += DAY) {
      clock = at + DAY + HOUR;
      expect(await stack.runReport(new Date(clock))).toMatchObject({ failed: 0, errors: [] });
    }
    clock = undefined;
    // Meterline closes the period once its grace window has passed.
    await stack.runSchedule('invoicing', new Date(period.end + 73 * HOUR));
    const own = (await billing.invoiceForPeriod('vault', new Date(period.start).toISOString()))!;
    const gbMonths = own.lines.find((l) => l.meter === 'storage_gb')!.quantity;
    expect(new Dec(gbMonths).gt(0)).toBe(true);

    const customer = (await store.customerOf('vault'))!;
    const events = storageEvents(customer);
    // One share a day from the first reading's day on; before it the period holds no GB-months.
    expect(events).toHaveLength((period.end - periodStart('day', first)) / DAY);
    const sum = events.reduce((s, e) => s.plus(e.payload.value), new Dec(0));
    expect(sum.toFixed()).toBe(new Dec(gbMonths).times(1_000_000).toFixed());
  });

  const finalize = async () => {
    // The report job created the Stripe subscription from the plan on its first run.
    const invoice = await stack.stripe!.finalizeInvoice((await store.subscriptionLink('vault'))!.subscriptionId, seconds);
    const finalized = stack.stripe!.events().find((e) => e.type === 'invoice.finalized' && e.data.object.id === invoice.id)!;
    await eventually(
      () => store.seenEvent(finalized.id),
      (seen) => seen,
    );
    return invoice;
  };

  it("reconciles Stripe's invoice for the period with no mismatch", async () => {
    const invoice = await finalize();
    expect(await store.issues('vault')).toEqual([]);
    expect(invoice.total).toBeGreaterThan(0);
  });

  it('raises a billing issue when Stripe holds a different quantity', async () => {
    await stripe.billing.meterEvents.create({
      event_name: eventName,
      identifier: 'vault:storage_gb:stray',
      timestamp: seconds.start + 3_600,
      payload: { stripe_customer_id: (await store.customerOf('vault'))!, value: '1' },
    });
    const invoice = await finalize();
    const alert = (await store.issues('vault')).find((a) => a.id === `reconciliation:${invoice.id}`);
    expect(alert).toMatchObject({
      kind: 'RECONCILIATION_MISMATCH',
      details: { mismatches: [expect.objectContaining({ kind: 'QUANTITY', meter: 'storage_gb' })] },
    });
  });
});
