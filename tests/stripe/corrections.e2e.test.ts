import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { DynamoBillingStore } from '../../shared/billing/adapters/billing-store.js';
import { newSubscription } from '../../shared/billing/subscriptions.js';
import { Dec } from '../../shared/kernel/decimal.js';
import { periodKey, periodStart } from '../../shared/kernel/periods.js';
import { unitMonths } from '../../shared/metering/period-usage.js';
import { seedMeters } from '../../shared/metering/seed-meters.js';
import { documentClient } from '../../shared/platform/dynamo/client.js';
import { stripeClient } from '../../shared/stripe/adapters/client.js';
import { DynamoStripeStore } from '../../shared/stripe/adapters/stripe-store.js';
import { meterReporting, scaledQuantity } from '../../shared/stripe/meter-reporting.js';
import { api, createTenant, startTestStack } from '../support/stack.js';

/**
 * A gauge that falls after it was reported: 10 GB from the 1st, 100 GB from the 21st, reported through
 * the 26th, then a late 40 GB reading dated the 25th. Stripe gets one negative delta, its sum meter ends
 * equal to Meterline's GB-months, and a fall after Stripe invoiced the period is flagged once.
 */
const DAY = 86_400_000;
const HOUR = 3_600_000;
const thisMonth = periodStart('month', Date.now());
// The previous calendar month is wholly past; a long grace window keeps it open to ingest whatever today's date.
const month = { start: periodStart('month', thisMonth - 1), end: thisMonth };
const dayAt = (n: number) => month.start + (n - 1) * DAY;
const storage = seedMeters.find((m) => m.key === 'storage_gb')!;
const eventName = meterReporting(storage).eventName;

describe('downward corrections reach Stripe', () => {
  let stack: LocalStack;
  let key: string;
  let store: DynamoStripeStore;
  let clock: number | undefined;
  const hours = [
    { period: periodKey('hour', dayAt(1)), value: '10' },
    { period: periodKey('hour', dayAt(21)), value: '100' },
  ];
  const reading = (id: string, at: number, value: number) => ({ id, meter: 'storage_gb', timestamp: new Date(at).toISOString(), value });
  const post = async (events: unknown[]) => {
    expect(await api(stack, 'POST', '/v1/events', key, { events })).toMatchObject({ status: 202, body: { accepted: events.length } });
    await stack.drained();
  };
  const report = async (at: number) => {
    clock = at;
    return stack.runReport(new Date(at));
  };
  const storageEvents = async () => {
    const customer = await store.customerOf('tank');
    return stack.stripe!.meterEvents().filter((e) => e.event_name === eventName && e.payload.stripe_customer_id === customer);
  };
  const stripeSum = async () => (await storageEvents()).reduce((s, e) => s.plus(e.payload.value), new Dec(0)).toFixed();

  beforeAll(async () => {
    stack = await startTestStack({ env: { GRACE_PERIOD_HOURS: String(45 * 24) }, stripe: { now: () => clock ?? Date.now() } });
    stack.stripe!.setWebhook(undefined);
    store = new DynamoStripeStore(documentClient(stack.dynamo), stack.env.STRIPE_TABLE!);
    const billing = new DynamoBillingStore(documentClient(stack.dynamo), stack.env.BILLING_TABLE!);
    key = await createTenant(stack, 'tank');
    await billing.putPlan({
      id: 'storage-only',
      name: 'Storage only',
      currency: 'USD',
      interval: 'month',
      baseFee: '0',
      prices: { storage_gb: { model: 'perUnit', unitPrice: '1.00' } },
    });
    expect(
      await billing.putSubscription(
        newSubscription({
          tenantId: 'tank',
          planId: 'storage-only',
          interval: 'month',
          currency: 'USD',
          startAt: month.start,
          now: month.start,
        }),
      ),
    ).toBe(true);
    await post([reading('r1', dayAt(1), 10), reading('r21', dayAt(21), 100)]);
  });
  afterAll(() => stack.stop());

  it('sends a fall as one negative delta with a deterministic identifier, then nothing', async () => {
    const due = dayAt(27) + HOUR;
    expect(await report(due)).toMatchObject({ failed: 0, errors: [] });
    expect(await stripeSum()).toBe(scaledQuantity(unitMonths(undefined, hours, month, dayAt(27)), 1_000_000));

    await post([reading('r25', dayAt(25), 40)]);
    hours.push({ period: periodKey('hour', dayAt(25)), value: '40' });
    const before = (await storageEvents()).length;
    expect(await report(due)).toMatchObject({ sent: 1, failed: 0, errors: [] });
    const [delta] = (await storageEvents()).slice(before);
    const day26 = periodKey('day', dayAt(26));
    expect(delta).toMatchObject({ identifier: `tank:storage_gb:${day26}:delta:1`, timestamp: Date.parse(`${day26}T12:00:00Z`) / 1000 + 1 });
    expect(new Dec(delta!.payload.value).isNegative()).toBe(true);
    expect(await stripeSum()).toBe(scaledQuantity(unitMonths(undefined, hours, month, dayAt(27)), 1_000_000));
    expect(await report(due)).toMatchObject({ sent: 0, failed: 0 });
  });

  it("bills Meterline's GB-months for the whole period on Stripe's invoice", async () => {
    expect(await report(month.end + HOUR / 2)).toMatchObject({ failed: 0, errors: [] });
    const gbMonths = unitMonths(undefined, hours, month, month.end);
    const invoice = await stack.stripe!.finalizeInvoice((await store.subscriptionLink('tank'))!.subscriptionId, {
      start: month.start / 1000,
      end: month.end / 1000,
    });
    const line = invoice.lines.data.find((l: { quantity_decimal: string }) => l.quantity_decimal !== '1')!;
    expect(line.quantity_decimal).toBe(scaledQuantity(gbMonths, 1_000_000));
    expect(line.amount).toBe(Number(new Dec(gbMonths).times(100).toDecimalPlaces(0, Dec.ROUND_HALF_UP)));
  });

  it('flags a fall in a period Stripe already invoiced once, and sends nothing for it', async () => {
    await post([reading('r28', dayAt(28), 5)]);
    const before = (await storageEvents()).length;
    const flagged = await report(month.end + 2 * HOUR);
    expect(flagged).toMatchObject({
      sent: 0,
      failed: 1,
      errors: [expect.objectContaining({ code: 'NEGATIVE_CORRECTION', message: expect.stringContaining('invoiced') })],
    });
    expect(await report(month.end + 3 * HOUR)).toMatchObject({ sent: 0, failed: 0 });
    expect(await storageEvents()).toHaveLength(before);
  });

  it('bills 0 for a period whose meter events sum below zero, as Stripe does', async () => {
    const stripe: Stripe = stripeClient({ secretKey: stack.stripe!.apiKey, apiBase: stack.stripe!.url });
    const customer = (await store.customerOf('tank'))!;
    await stripe.billing.meterEvents.create({
      event_name: eventName,
      identifier: 'tank:storage_gb:refund',
      timestamp: month.start / 1000 + 60,
      payload: { stripe_customer_id: customer, value: '-999999999999' },
    });
    const invoice = await stack.stripe!.finalizeInvoice((await store.subscriptionLink('tank'))!.subscriptionId, {
      start: month.start / 1000,
      end: month.end / 1000,
    });
    expect(invoice.lines.data.find((l: { quantity_decimal: string }) => l.quantity_decimal !== '1')).toMatchObject({
      quantity_decimal: '0',
      amount: 0,
    });
  });
});
