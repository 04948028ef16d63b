import { describe, expect, it } from 'vitest';
import { newSubscription } from '../../shared/billing/subscriptions.js';
import { Dec } from '../../shared/kernel/decimal.js';
import { type Period, periodKey } from '../../shared/kernel/periods.js';
import { unitMonths } from '../../shared/metering/period-usage.js';
import {
  type DayValue,
  meterReporting,
  planMeterReport,
  type ReportRecord,
  reportDays,
  reportIdentifier,
  reportingPeriod,
  scaledQuantity,
  withinProviderWindow,
} from '../../shared/stripe/meter-reporting.js';

const now = Date.parse('2026-11-23T01:00:00Z');
const DAY = 86_400_000;
const orders = { key: 'orders', name: 'Orders', aggregation: 'COUNT' as const };
const storage = { key: 'storage_gb', name: 'Storage', aggregation: 'LATEST' as const };
const peak = { key: 'peak_gb', name: 'Peak', aggregation: 'MAX' as const };
const seats = { key: 'seats', name: 'Seats', aggregation: 'UNIQUE_COUNT' as const };
const november = { start: Date.parse('2026-11-01T00:00:00Z'), end: Date.parse('2026-12-01T00:00:00Z') };
const october = { start: Date.parse('2026-10-01T00:00:00Z'), end: Date.parse('2026-11-01T00:00:00Z') };
const utcDay = (d: string): Period => ({ start: Date.parse(`${d}T00:00:00Z`), end: Date.parse(`${d}T00:00:00Z`) + DAY });
const day = (d: string, value: string, period: Period = november): DayValue => ({ day: d, span: utcDay(d), value, period });
const reported = (d: string, value: string, sequence = 0): [string, ReportRecord] => [d, { day: d, reported: { value, sequence } }];

describe('report planning', () => {
  it('maps meters to Stripe meters: additive ones and gauge unit-months sum, peaks and distinct counts keep the last value', () => {
    expect(meterReporting(orders)).toMatchObject({ eventName: 'meterline_orders_count', formula: 'sum', scale: 1 });
    expect(meterReporting(storage)).toMatchObject({ eventName: 'meterline_storage_gb_unit_months', formula: 'sum', scale: 1_000_000 });
    expect(meterReporting(peak)).toMatchObject({ eventName: 'meterline_peak_gb_max', formula: 'last', scale: 1000 });
    expect(meterReporting(seats)).toMatchObject({ formula: 'last', scale: 1 });
    expect(scaledQuantity('12.3456', 1000)).toBe('12346');
    expect(scaledQuantity('0.0004', 1000)).toBe('0');
  });

  it('sends each unreported day once, at noon of that day, with a deterministic identifier', () => {
    const steps = planMeterReport({
      tenantId: 'acme',
      meter: orders,
      days: [day('2026-11-21', '3'), day('2026-11-22', '5')],
      records: new Map(),
      now,
    });
    expect(steps).toEqual([
      {
        kind: 'send',
        day: '2026-11-21',
        event: {
          eventName: 'meterline_orders_count',
          identifier: 'acme:orders:2026-11-21',
          timestamp: Date.parse('2026-11-21T12:00:00Z') / 1000,
          value: '3',
          after: { value: '3', sequence: 0 },
        },
      },
      expect.objectContaining({ kind: 'send', day: '2026-11-22', event: expect.objectContaining({ value: '5' }) }),
    ]);
  });

  it('skips reported days and sends growth as a numbered delta', () => {
    const records = new Map([reported('2026-11-21', '3'), reported('2026-11-22', '5', 1)]);
    const steps = planMeterReport({
      tenantId: 'acme',
      meter: orders,
      days: [day('2026-11-21', '3'), day('2026-11-22', '7')],
      records,
      now,
    });
    expect(steps[0]).toEqual({ kind: 'skip', day: '2026-11-21' });
    expect(steps[1]).toMatchObject({
      kind: 'send',
      event: {
        identifier: 'acme:orders:2026-11-22:delta:2',
        value: '2',
        timestamp: Date.parse('2026-11-22T12:00:00Z') / 1000 + 2,
        after: { value: '7', sequence: 2 },
      },
    });
  });

  it('sends a fall in an additive meter as a negative delta while Stripe has not invoiced the period', () => {
    const steps = planMeterReport({
      tenantId: 'acme',
      meter: { ...orders, aggregation: 'SUM' },
      days: [day('2026-11-22', '1')],
      records: new Map([reported('2026-11-22', '2000')]),
      now,
    });
    expect(steps[0]).toMatchObject({
      kind: 'send',
      event: { identifier: 'acme:orders:2026-11-22:delta:1', value: '-1000', after: { value: '1000', sequence: 1 } },
    });
  });

  it('flags a fall in a period Stripe has invoiced (it needs a credit), once per value', () => {
    const records = new Map([reported('2026-10-31', '5')]);
    const late = { tenantId: 'acme', meter: orders, days: [day('2026-10-31', '3', october)], now: october.end + 3_600_000 };
    expect(planMeterReport({ ...late, records })[0]).toMatchObject({ kind: 'flag', code: 'NEGATIVE_CORRECTION', target: '3' });
    const flagged = new Map([['2026-10-31', { ...records.get('2026-10-31')!, flagged: '3' }]]);
    expect(planMeterReport({ ...late, records: flagged })).toEqual([{ kind: 'skip', day: '2026-10-31' }]);
    // Within Stripe's finalization grace the draft invoice still takes it.
    expect(planMeterReport({ ...late, records, now: october.end + 1_800_000 })[0]).toMatchObject({ kind: 'send', event: { value: '-2' } });
  });

  it("corrects a peak only on its billing period's latest day, with the full value", () => {
    const records = new Map([reported('2026-11-20', '1000'), reported('2026-11-21', '2000')]);
    const steps = planMeterReport({
      tenantId: 'acme',
      meter: peak,
      days: [day('2026-11-20', '1.5'), day('2026-11-21', '2.5')],
      records,
      now,
    });
    expect(steps).toEqual([
      { kind: 'skip', day: '2026-11-20' },
      expect.objectContaining({
        kind: 'send',
        event: expect.objectContaining({ identifier: 'acme:peak_gb:2026-11-21:delta:1', value: '2500' }),
      }),
    ]);
  });

  it('sends peaks and distinct counts period-to-date, each billing period on its own', () => {
    const maxSteps = planMeterReport({
      tenantId: 'acme',
      meter: peak,
      days: [day('2026-10-31', '9', october), day('2026-11-01', '4'), day('2026-11-02', '4')],
      records: new Map(),
      now,
    });
    expect(maxSteps.map((s) => s.kind === 'send' && s.event.value)).toEqual(['9000', '4000', '4000']);
    const seatSteps = planMeterReport({
      tenantId: 'acme',
      meter: seats,
      days: [day('2026-11-20', '2'), day('2026-11-21', '3')],
      records: new Map(),
      now,
    });
    expect(seatSteps.map((s) => s.kind === 'send' && s.event.value)).toEqual(['2', '3']);
  });

  it("flags what falls outside Stripe's 35-day window, once per value", () => {
    const old = day('2026-10-15', '4', october);
    const [step] = planMeterReport({ tenantId: 'acme', meter: orders, days: [old], records: new Map(), now });
    expect(step).toMatchObject({ kind: 'flag', code: 'OUTSIDE_PROVIDER_WINDOW', target: '4' });
    expect(
      planMeterReport({
        tenantId: 'acme',
        meter: orders,
        days: [old],
        records: new Map([['2026-10-15', { day: '2026-10-15', flagged: '4' }]]),
        now,
      }),
    ).toEqual([{ kind: 'skip', day: '2026-10-15' }]);
  });

  it('keeps timestamps inside the window with a margin, never in the future', () => {
    expect(withinProviderWindow(now / 1000 - 35 * 86_400 + 7_200, now)).toBe(true);
    expect(withinProviderWindow(now / 1000 - 35 * 86_400 + 60, now)).toBe(false);
    expect(withinProviderWindow(now / 1000 + 301, now)).toBe(false);
    const days = reportDays(undefined, now);
    expect([days[0]!.day, days.at(-1)!.day, days.length]).toEqual(['2026-10-09', '2026-11-22', 45]);
  });

  it('hashes identifiers longer than Stripe accepts, deterministically', () => {
    const long = reportIdentifier('t'.repeat(63), 'm'.repeat(63), '2026-11-22', 3);
    expect(long).toMatch(/^mtl:[0-9a-f]{64}$/);
    expect(reportIdentifier('t'.repeat(63), 'm'.repeat(63), '2026-11-22', 3)).toBe(long);
  });
});

describe('reporting periods', () => {
  const sub = newSubscription({
    tenantId: 'acme',
    planId: 'starter',
    interval: 'month',
    currency: 'USD',
    startAt: Date.parse('2026-01-31T10:00:00Z'),
    now: 0,
  });

  it("follows the subscription's anchored periods, the calendar month without one", () => {
    expect(reportingPeriod(sub, Date.parse('2026-02-10T00:00:00Z'))).toEqual({
      start: Date.parse('2026-01-31T00:00:00Z'),
      end: Date.parse('2026-02-28T00:00:00Z'),
    });
    expect(reportingPeriod(undefined, Date.parse('2026-02-10T00:00:00Z'))).toEqual({
      start: Date.parse('2026-02-01T00:00:00Z'),
      end: Date.parse('2026-03-01T00:00:00Z'),
    });
    // Before the subscription: the calendar month, cut where the subscription starts.
    expect(reportingPeriod(sub, Date.parse('2026-01-05T00:00:00Z'))).toEqual({
      start: Date.parse('2026-01-01T00:00:00Z'),
      end: Date.parse('2026-01-31T00:00:00Z'),
    });
  });
});

/**
 * A gauge reported day by day over a billing period, as the daily job does: each run plans the day
 * just completed (and, after the period, its latest day again), and its sends become the records.
 */
function reportGauge(period: Period, before: string | undefined, readings: Map<string, string>) {
  const records = new Map<string, ReportRecord>();
  const sent: string[] = [];
  const hourly = () => [...readings].map(([hour, value]) => ({ period: hour, value }));
  const run = (d: string) => {
    const end = Date.parse(`${d}T00:00:00Z`) + DAY;
    const steps = planMeterReport({
      tenantId: 'acme',
      meter: storage,
      days: [{ day: d, span: utcDay(d), value: unitMonths(before, hourly(), period, end), period }],
      records,
      now: end + 3_600_000,
    });
    for (const step of steps) {
      expect(step.kind).not.toBe('flag');
      if (step.kind === 'send') {
        sent.push(step.event.value);
        records.set(d, { day: d, reported: step.event.after });
      }
    }
  };
  const days: string[] = [];
  for (let at = period.start; at < period.end; at += DAY) days.push(periodKey('day', at));
  for (const d of days) run(d);
  const total = () => sent.reduce((sum, v) => sum.plus(v), new Dec(0)).toFixed();
  const billed = () => scaledQuantity(unitMonths(before, hourly(), period, period.end), 1_000_000);
  return { sent, total, billed, rerunLatest: () => run(days.at(-1)!) };
}

describe('gauge shares of unit-months', () => {
  const month = (y: number, m: number) => ({ start: Date.UTC(y, m - 1, 1), end: Date.UTC(y, m, 1) });
  // A reading 7 GB an hour into the period, 1 GB for a single hour, then nothing for days (carried forward), then 13.3 GB.
  const readings = (period: Period) =>
    new Map([
      [periodKey('hour', period.start + 3_600_000), '7'],
      [periodKey('hour', period.start + 5 * DAY + 7 * 3_600_000), '1'],
      [periodKey('hour', period.start + 5 * DAY + 8 * 3_600_000), '7'],
      [periodKey('hour', period.start + 17 * DAY + 13 * 3_600_000), '13.3'],
    ]);

  it.each([
    ['28 days (February 2026)', month(2026, 2)],
    ['29 days (February 2028)', month(2028, 2)],
    ['30 days (November 2026)', month(2026, 11)],
    ['31 days (December 2026)', month(2026, 12)],
    ['an anchored period (Jan 31 → Feb 28, 2026)', { start: Date.parse('2026-01-31T00:00:00Z'), end: Date.parse('2026-02-28T00:00:00Z') }],
  ])('sum over %s to the rounded unit-months Meterline bills', (_, period) => {
    const gauge = reportGauge(period, '2.5', readings(period));
    expect(gauge.sent.length).toBe((period.end - period.start) / DAY);
    expect(gauge.total()).toBe(gauge.billed());
  });

  it('carries a reading forward across days without readings, a full share each day', () => {
    // 30 GB from before the period, no reading in it: 30 GB-months, one thirtieth a day.
    const gauge = reportGauge(month(2026, 11), '30', new Map());
    expect(new Set(gauge.sent)).toEqual(new Set(['1000000']));
    expect(gauge.total()).toBe('30000000');
  });

  it('keeps rounding from drifting: each day sends round(cumulative) − round(cumulative the day before)', () => {
    // 1 GB over a 31-day month: 1/31 GB-months a day, not a whole number of micro-GB-months.
    const gauge = reportGauge(month(2026, 12), '1', new Map());
    expect(gauge.sent.slice(0, 7)).toEqual(Array(7).fill('32258'));
    expect(gauge.sent[7]).toBe('32259'); // round(8/31 × 10⁶) − round(7/31 × 10⁶) = 258065 − 225806
    expect(new Set(gauge.sent)).toEqual(new Set(['32258', '32259']));
    expect(gauge.total()).toBe('1000000');
  });

  it('sends a late reading for a closed period as one delta on its latest day', () => {
    const period = month(2026, 11);
    const late = readings(period);
    const gauge = reportGauge(period, '2.5', late);
    late.set(periodKey('hour', period.start + 9 * DAY), '100');
    gauge.rerunLatest();
    expect(gauge.total()).toBe(gauge.billed());
    gauge.rerunLatest();
    expect(gauge.sent.length).toBe(31);
  });
});
