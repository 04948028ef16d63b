import { Dec } from '../kernel/decimal.js';
import { type Granularity, nextPeriodStart, type Period, periodKey, periodKeyStart, periodStart } from '../kernel/periods.js';
import type { Meter } from './meters.js';
import type { CounterReads, MeterQuantities } from './ports.js';

/**
 * How a billing period's quantity comes out of the hour/day/month counters.
 *
 * - SUM and COUNT add the counters that tile the period (whole calendar months by their month counter,
 *   the days around them by day counters); MAX takes the largest of them.
 * - UNIQUE_COUNT counts distinct values over the period: the month counter when the period is exactly
 *   a calendar month, otherwise the distinct values of the day markers in the period.
 * - LATEST meters are gauges (storage): priced in unit-months, the time-weighted average of their hourly
 *   readings. Each hour holds its latest reading; an hour without one carries the last reading forward,
 *   starting from the last reading before the period (0 if none). The sum of hourly values over the
 *   hours up to `asOf` is divided by the hours of the whole period, and rounded half-up to 6 decimals:
 *   45 GB all month = 45 GB-months; 100 GB for the last 10 days of a 30-day month = 33.333333 GB-months.
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

/** The billed quantity of one meter over `period`, by the rules above. Only meter totals are read: prices apply to a meter as a whole. */
export async function billedQuantity(reads: CounterReads, tenantId: string, meter: Meter, period: Period, asOf: number): Promise<string> {
  const counterValues = async () => {
    const ranges = await Promise.all(counterRanges(period).map((r) => reads.values(tenantId, meter.key, r.granularity, r.from, r.to)));
    return ranges.flat().map((r) => new Dec(r.value));
  };
  switch (meter.aggregation) {
    case 'SUM':
    case 'COUNT':
      return (await counterValues()).reduce((sum, v) => sum.plus(v), new Dec(0)).toFixed();
    case 'MAX':
      return (await counterValues()).reduce((max, v) => Dec.max(max, v), new Dec(0)).toFixed();
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
    level: async (tenantId, meter, instant) =>
      (await reads.levelBefore(tenantId, meter.key, nextPeriodStart('hour', periodStart('hour', instant)))) ?? '0',
  };
}
