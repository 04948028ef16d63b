import { Dec } from '../kernel/decimal.js';
import { type Granularity, nextPeriodStart, type Period, periodKey, periodKeyStart, periodStart } from '../kernel/periods.js';
import type { Meter, TimeUnit } from './meters.js';
import type { CounterReads, GaugeReadings, MeterQuantities } from './ports.js';

/**
 * How a billing period's quantity comes out of the hour/day/month counters.
 *
 * - SUM and COUNT add the counters that tile the period (whole calendar months by their month counter,
 *   the days around them by day counters); MAX and MIN take the largest and smallest of them (MIN over the
 *   counters that counted an event: a period without one is 0).
 * - AVG adds the same counters' sums and event counts and divides once, here: the mean over every event of the
 *   period, exact, shown (and priced) rounded half-up to 6 decimals, as gauges are.
 * - UNIQUE_COUNT counts distinct values over the period: the month counter when the period is exactly
 *   a calendar month, otherwise the distinct values of the day markers in the period.
 * - LATEST meters are gauges (storage): priced in unit-months, the time-weighted average of their hourly
 *   readings. Each hour holds its latest reading; an hour without one carries the last reading forward,
 *   starting from the last reading before the period (0 if none). The sum of hourly values over the
 *   hours up to `asOf` is divided by the hours of the whole period, and rounded half-up to 6 decimals:
 *   45 GB all month = 45 GB-months; 100 GB for the last 10 days of a 30-day month = 33.333333 GB-months.
 * - TIME_WEIGHTED meters integrate the gauge exactly: each reading holds from its instant until the next one
 *   (the last reading before the period carried in, 0 if none), to the millisecond, up to `asOf`; the integral
 *   is expressed per the meter's `per` (a minute, an hour, a day, or the period's whole length for `month`) and
 *   rounded half-up to 6 decimals. A grouped meter's total is the sum of its groups' integrals (seats per region
 *   add up). LATEST is the same measure sampled hourly, per month: TIME_WEIGHTED with `per: 'month'` equals it
 *   whenever readings fall on the hour, and is exact when they do not.
 */
export interface CounterRange {
  granularity: Granularity;
  from: string;
  to: string;
}

/** The counter ranges that tile a day-aligned period: whole months by month counters, the rest by days. */
export function counterRanges(period: Period): CounterRange[] {
  const ranges: CounterRange[] = [];
  for (let at = period.start; at < period.end; ) {
    const wholeMonth = periodStart('month', at) === at && nextPeriodStart('month', at) <= period.end;
    const granularity: Granularity = wholeMonth ? 'month' : 'day';
    const last = ranges.at(-1);
    const key = periodKey(granularity, at);
    if (last && last.granularity === granularity) last.to = key;
    else ranges.push({ granularity, from: key, to: key });
    at = nextPeriodStart(granularity, at);
  }
  return ranges;
}

/** True when the period is exactly one calendar month. */
export const isCalendarMonth = (period: Period): boolean =>
  periodStart('month', period.start) === period.start && nextPeriodStart('month', period.start) === period.end;

export const GAUGE_DECIMALS = 6;

/**
 * Unit-months of a gauge: `before` is the last reading before the period, `hourly` the period's hour
 * counters (keys "2026-01-01T00"), in any order.
 */
export function unitMonths(
  before: string | undefined,
  hourly: readonly { period: string; value: string }[],
  period: Period,
  asOf: number,
): string {
  const byHour = new Map(hourly.map((r) => [periodKeyStart('hour', r.period), r.value]));
  const hours = (period.end - period.start) / 3_600_000;
  const until = Math.min(asOf, period.end);
  let current = new Dec(before ?? 0);
  let sum = new Dec(0);
  for (let at = period.start; at < until; at += 3_600_000) {
    const reading = byHour.get(at);
    if (reading !== undefined) current = new Dec(reading);
    sum = sum.plus(current);
  }
  return sum.div(hours).toDecimalPlaces(GAUGE_DECIMALS, Dec.ROUND_HALF_UP).toFixed();
}

const timeUnitMs: Record<Exclude<TimeUnit, 'month'>, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/**
 * The integral of each group's gauge over `period` up to `asOf`, summed, in `per` units of time. Readings may come
 * in any order: ties of one instant are broken by id (the greater holds), as LATEST breaks them.
 */
export function timeWeighted(groups: readonly GaugeReadings[], period: Period, asOf: number, per: TimeUnit): string {
  const until = Math.min(asOf, period.end);
  let integral = new Dec(0);
  for (const g of groups) {
    const readings = g.readings
      .map((r) => ({ ...r, instant: Date.parse(r.at) }))
      .filter((r) => r.instant >= period.start && r.instant < until)
      .sort((a, b) => a.instant - b.instant || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    let level = new Dec(g.before?.value ?? 0);
    let from = period.start;
    for (const r of readings) {
      integral = integral.plus(level.times(r.instant - from));
      from = r.instant;
      level = new Dec(r.value);
    }
    if (until > from) integral = integral.plus(level.times(until - from));
  }
  const unitMs = per === 'month' ? period.end - period.start : timeUnitMs[per];
  return integral.div(unitMs).toDecimalPlaces(GAUGE_DECIMALS, Dec.ROUND_HALF_UP).toFixed();
}

/**
 * `timeWeighted` of each of `buckets` (consecutive periods, in order), from one read of readings that covers them
 * all: a bucket's level carried in is the last reading before it, from the read or from before it.
 */
export function timeWeightedSeries(groups: readonly GaugeReadings[], buckets: readonly Period[], asOf: number, per: TimeUnit): string[] {
  const sorted = groups.map((g) => ({
    before: g.before,
    readings: [...g.readings].sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
  }));
  return buckets.map((bucket) => {
    if (asOf <= bucket.start) return '0';
    const around = sorted.map((g) => {
      const first = g.readings.findIndex((r) => Date.parse(r.at) >= bucket.start);
      const start = first === -1 ? g.readings.length : first;
      const end = g.readings.findIndex((r) => Date.parse(r.at) >= bucket.end);
      const before = start > 0 ? g.readings[start - 1] : g.before;
      return { groupKey: '', ...(before ? { before } : {}), readings: g.readings.slice(start, end === -1 ? undefined : end) };
    });
    return timeWeighted(around, bucket, asOf, per);
  });
}

/** The mean of events whose values add up to `sum`, as billed: rounded half-up to 6 decimals, 0 without events. */
export function average(sum: Dec, events: number): string {
  return events === 0 ? '0' : sum.div(events).toDecimalPlaces(GAUGE_DECIMALS, Dec.ROUND_HALF_UP).toFixed();
}

/** The billed quantity of one meter over `period`, by the rules above. Only meter totals are read: prices apply to a meter as a whole. */
export async function billedQuantity(reads: CounterReads, tenantId: string, meter: Meter, period: Period, asOf: number): Promise<string> {
  const counterRows = async () => {
    const ranges = await Promise.all(counterRanges(period).map((r) => reads.values(tenantId, meter.key, r.granularity, r.from, r.to)));
    return ranges.flat();
  };
  const counterValues = async () => (await counterRows()).map((r) => new Dec(r.value));
  switch (meter.aggregation) {
    case 'SUM':
    case 'COUNT':
      return (await counterValues()).reduce((sum, v) => sum.plus(v), new Dec(0)).toFixed();
    case 'MAX':
      return (await counterValues()).reduce((max, v) => Dec.max(max, v), new Dec(0)).toFixed();
    case 'MIN': {
      const counted = (await counterRows()).filter((r) => r.events > 0).map((r) => new Dec(r.value));
      return counted.length === 0 ? '0' : Dec.min(...counted).toFixed();
    }
    case 'AVG': {
      const rows = await counterRows();
      return average(
        rows.reduce((sum, r) => sum.plus(r.value), new Dec(0)),
        rows.reduce((n, r) => n + r.events, 0),
      );
    }
    case 'TIME_WEIGHTED':
      if (asOf <= period.start) return '0';
      return timeWeighted(await reads.readings(tenantId, meter.key, period.start, Math.min(asOf, period.end)), period, asOf, meter.per!);
    case 'UNIQUE_COUNT':
      return isCalendarMonth(period)
        ? ((await counterValues())[0]?.toFixed() ?? '0')
        : String(await reads.distinctDayValues(tenantId, meter.key, period));
    case 'LATEST': {
      const before = await reads.levelBefore(tenantId, meter.key, period.start);
      const hourly = await reads.values(tenantId, meter.key, 'hour', periodKey('hour', period.start), periodKey('hour', period.end - 1));
      return unitMonths(before, hourly, period, asOf);
    }
  }
}

/** Billed quantities and gauge levels over the counters. */
export function meterQuantities(reads: CounterReads): MeterQuantities {
  return {
    quantity: (tenantId, meter, period, asOf) => billedQuantity(reads, tenantId, meter, period, asOf),
    level: async (tenantId, meter, instant) => {
      if (meter.aggregation === 'TIME_WEIGHTED') {
        // The sum of each group's newest reading at or before the instant.
        const groups = await reads.readings(tenantId, meter.key, instant + 1, instant + 1);
        return groups.reduce((sum, g) => sum.plus(g.before?.value ?? 0), new Dec(0)).toFixed();
      }
      return (await reads.levelBefore(tenantId, meter.key, nextPeriodStart('hour', periodStart('hour', instant)))) ?? '0';
    },
  };
}
