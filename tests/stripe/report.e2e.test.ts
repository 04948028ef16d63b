import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import type { StripeObject } from '../../local/stripe-emulator/fixtures.js';
import { Dec } from '../../shared/kernel/decimal.js';
import { periodKey } from '../../shared/kernel/periods.js';
import { unitMonths } from '../../shared/metering/period-usage.js';
import { documentClient } from '../../shared/platform/dynamo/client.js';
import { DynamoStripeStore } from '../../shared/stripe/adapters/stripe-store.js';
import { reportingPeriod, scaledQuantity } from '../../shared/stripe/meter-reporting.js';
import { api, createTenant, startTestStack } from '../support/stack.js';

/**
 * The daily report end to end: events through the API, the consumer's counters, the scheduled job,
 * the real stripe-node client, the Stripe emulator.
 */
const DAY = 86_400_000;
const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
const due = new Date(today + 3_600_000); // 01:00 UTC today, as the schedule fires
const day1 = periodKey('day', today - 2 * DAY);
const day2 = periodKey('day', today - DAY);
const at = (day: string, hour: number) => `${day}T${String(hour).padStart(2, '0')}:00:00Z`;
const noon = (day: string) => Date.parse(`${day}T12:00:00Z`) / 1000;
const tenants = ['acme', 'globex', 'initech'];
// The storage readings below, as hour counters. Without a subscription the billing period is the calendar month.
const gaugeHours = [
  { period: `${day1}T08`, value: '10.25' },
  { period: `${day1}T20`, value: '12.5' },
  { period: `${day2}T08`, value: '0.0015' },
];
const samePeriod = day1.slice(0, 7) === day2.slice(0, 7);
/** The month's GB-months through the end of `day`, in micro-GB-months. */
const billedThrough = (day: string) => {
  const start = Date.parse(`${day}T00:00:00Z`);
  const period = reportingPeriod(undefined, start);
  return scaledQuantity(
    unitMonths(period.start > Date.parse(`${day1}T20:00:00Z`) ? '12.5' : undefined, gaugeHours, period, start + DAY),
    1_000_000,
  );
};
const storageShare1 = billedThrough(day1);
const storageShare2 = samePeriod ? new Dec(billedThrough(day2)).minus(storageShare1).toFixed() : billedThrough(day2);

describe('daily usage report to Stripe', () => {
  let stack: LocalStack;
  const keys = new Map<string, string>();
  const run = async () => stack.runReport(due);
  const meterEvents = () => stack.stripe!.meterEvents();
  const post = async (tenantId: string, events: unknown[]) =>
    expect(await api(stack, 'POST', '/v1/events', keys.get(tenantId), { events })).toMatchObject({ status: 202 });

  beforeAll(async () => {
    // A short client timeout so an injected hang is retried quickly.
    stack = await startTestStack({ env: { STRIPE_TIMEOUT_MS: '1000' } });
    stack.stripe!.setWebhook(undefined);
    for (const [i, tenantId] of tenants.entries()) {
      keys.set(tenantId, await createTenant(stack, tenantId));
      await post(tenantId, [
        ...Array.from({ length: i + 1 }, (_, n) => ({ id: `o1-${n}`, meter: 'orders', timestamp: at(day1, 10 + n) })),
        ...Array.from({ length: i + 2 }, (_, n) => ({ id: `o2-${n}`, meter: 'orders', timestamp: at(day2, 9 + n) })),
        { id: 's1-a', meter: 'storage_gb', timestamp: at(day1, 8), value: 10.25 },
        { id: 's1-b', meter: 'storage_gb', timestamp: at(day1, 20), value: 12.5 },
        { id: 's2-a', meter: 'storage_gb', timestamp: at(day2, 8), value: 0.0015 },
        { id: 'u2-a', meter: 'seats', timestamp: at(day2, 8), properties: { user_id: 'ann' } },
        { id: 'u2-b', meter: 'seats', timestamp: at(day2, 9), properties: { user_id: 'bob' } },
        { id: 'u2-c', meter: 'seats', timestamp: at(day2, 10), properties: { user_id: 'ann' } },
      ]);
    }
    await stack.drained();
  });
  afterAll(() => stack.stop());

  it('sends one meter event per tenant × meter × day, valued and stamped for that day', async () => {
    const summary = await run();
    expect(summary).toMatchObject({ tenants: 3, failed: 0, errors: [] });
    const events = meterEvents();
    // Per tenant: orders on two days, storage on two days, seats on one day.
    expect(summary.sent).toBe(15);
    expect(events).toHaveLength(15);
    expect(new Set(events.map((e) => e.identifier)).size).toBe(15);
    const customers = new Set(events.map((e) => e.payload.stripe_customer_id));
    expect(customers.size).toBe(3);

    for (const [i, tenantId] of tenants.entries()) {
      const of = (meter: string, day: string) => events.filter((e: StripeObject) => e.identifier === `${tenantId}:${meter}:${day}`);
      expect(of('orders', day1)).toEqual([
        expect.objectContaining({
          event_name: 'meterline_orders_count',
          timestamp: noon(day1),
          payload: expect.objectContaining({ value: String(i + 1) }),
        }),
      ]);
      expect(of('orders', day2)).toEqual([
        expect.objectContaining({ timestamp: noon(day2), payload: expect.objectContaining({ value: String(i + 2) }) }),
      ]);
      // storage_gb is a LATEST gauge billed in GB-months: each day carries its share, in micro-GB-months.
      expect(of('storage_gb', day1)).toEqual([
        expect.objectContaining({
          event_name: 'meterline_storage_gb_unit_months',
          payload: expect.objectContaining({ value: storageShare1 }),
        }),
      ]);
      expect(of('storage_gb', day2)).toEqual([expect.objectContaining({ payload: expect.objectContaining({ value: storageShare2 }) })]);
      // seats: the billing period's distinct users so far.
      expect(of('seats', day2)).toEqual([
        expect.objectContaining({ event_name: 'meterline_seats_unique_count', payload: expect.objectContaining({ value: '2' }) }),
      ]);
    }
    const store = new DynamoStripeStore(documentClient(stack.dynamo), stack.env.STRIPE_TABLE!);
    const runs = await store.runs('acme');
    expect(runs).toHaveLength(1);
    expect(runs[0]!.sent).toHaveLength(5);
  });

  it('sends nothing when run again', async () => {
    const before = meterEvents().length;
    const summary = await run();
    // Per tenant: orders on two days, seats on one; storage only on its period's latest day (earlier days are superseded by it).
    expect(summary).toMatchObject({ sent: 0, failed: 0, skipped: 3 * (samePeriod ? 4 : 5) });
    expect(meterEvents()).toHaveLength(before);
  });

  it('reports late events for a reported day as exactly one delta event', async () => {
    await post('acme', [
      { id: 'late-1', meter: 'orders', timestamp: at(day1, 23) },
      { id: 'late-2', meter: 'orders', timestamp: at(day1, 23) },
    ]);
    await stack.drained();
    const before = meterEvents().length;
    expect(await run()).toMatchObject({ sent: 1, failed: 0 });
    const added = meterEvents().slice(before);
    expect(added).toEqual([
      expect.objectContaining({
        identifier: `acme:orders:${day1}:delta:1`,
        timestamp: noon(day1) + 1,
        payload: expect.objectContaining({ value: '2' }),
      }),
    ]);
    expect(await run()).toMatchObject({ sent: 0, failed: 0 });
    expect(meterEvents()).toHaveLength(before + 1);
  });

  it('retries injected 429s, 500s and lost responses and ends in the same state', async () => {
    await post('globex', [{ id: 'late-3', meter: 'orders', timestamp: at(day2, 23) }]);
    await post('initech', [{ id: 'late-4', meter: 'orders', timestamp: at(day2, 23) }]);
    await post('acme', [{ id: 'u2-d', meter: 'seats', timestamp: at(day2, 23), properties: { user_id: 'cy' } }]);
    await stack.drained();
    const before = meterEvents().length;
    const callsBefore = stack.stripe!.calls().length;
    const emulator = stack.stripe!;
    emulator.inject({ kind: 429, times: 3, path: '/v1/billing/meter_events' });
    emulator.inject({ kind: 500, times: 2, path: '/v1/billing/meter_events' });
    // Stripe stores the event but the answer never arrives: the retry meets the same identifier.
    emulator.inject({ kind: 'hang-after-processing', times: 1, path: '/v1/billing/meter_events' });
    const summary = await run();
    expect(summary).toMatchObject({ sent: 3, failed: 0, errors: [] });
    const statuses = emulator
      .calls()
      .slice(callsBefore)
      .map((c) => c.status);
    expect(statuses.filter((s) => s === 429)).toHaveLength(3);
    expect(statuses.filter((s) => s === 500)).toHaveLength(2);
    const added = meterEvents().slice(before);
    expect(added.map((e) => e.identifier).sort()).toEqual([
      `acme:seats:${day2}:delta:1`,
      `globex:orders:${day2}:delta:1`,
      `initech:orders:${day2}:delta:1`,
    ]);
    expect(added.find((e) => e.identifier.startsWith('acme:seats'))).toMatchObject({ timestamp: noon(day2) + 1, payload: { value: '3' } });
    expect(await run()).toMatchObject({ sent: 0, failed: 0 });
    expect(meterEvents()).toHaveLength(before + 3);
  });
});
