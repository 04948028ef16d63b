import { mapLimit } from '../kernel/batching.js';
import { Dec } from '../kernel/decimal.js';
import {
  type Granularity,
  keyLength,
  nextPeriodStart,
  type Period,
  periodKey,
  periodKeyStart,
  periodStart,
  type Tile,
  tiles,
} from '../kernel/periods.js';
import type { Aggregation, Meter, TimeUnit } from './meters.js';
import type { CounterReads, GaugeReadings, MeterQuantities } from './ports.js';

/**
 * How a billing period's quantity comes out of the UTC counters. A period is any stretch on quarter-hours (a tenant's
 * local month, in any zone): it is read as the UTC buckets that tile it (`tiles` in kernel/periods.ts).
 *
 * - SUM and COUNT add the counters that tile the period; MAX and MIN take the largest and smallest of them (MIN over
 *   the counters that counted an event: a period without one is 0).
 * - AVG adds the same counters' sums and event counts and divides once, here: the mean over every event of the
 *   period, exact, shown (and priced) rounded half-up to 6 decimals, as gauges are.
 * - UNIQUE_COUNT counts distinct values over the period: the month counter when the period is exactly
 *   a UTC calendar month, otherwise the distinct values of the markers of the buckets that tile it.
 * - LATEST meters are gauges (storage): priced in unit-months, the time-weighted average of their readings. Each
 *   hour of the period holds its latest reading (each quarter-hour, in an hour the period only partly covers); a
 *   cell without one carries the last reading forward, starting from the last reading before the period (0 if
 *   none). The readings over the cells up to `asOf`, weighted by their length in hours, are divided by the hours
 *   of the whole period (721 for a month that gains an hour to DST), and rounded half-up to 6 decimals: 45 GB all
 *   month = 45 GB-months; 100 GB for the last 10 days of a 30-day month = 33.333333 GB-months.
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

/** Runs of buckets of one granularity, each read as one key range. */
export function rangesOf(buckets: readonly Tile[]): CounterRange[] {
  const ranges: CounterRange[] = [];
  for (const tile of buckets) {
    const key = periodKey(tile.granularity, tile.start);
    const last = ranges.at(-1);
    if (last && last.granularity === tile.granularity) last.to = key;
    else ranges.push({ granularity: tile.granularity, from: key, to: key });
  }
  return ranges;
}

/** The counter ranges that tile a period: whole UTC months by month counters, then days, hours and quarter-hours. */
export const counterRanges = (period: Period): CounterRange[] => rangesOf(tiles(period));

/** True when the period is exactly one UTC calendar month. */
export const isCalendarMonth = (period: Period): boolean =>
  periodStart('month', period.start) === period.start && nextPeriodStart('month', period.start) === period.end;

export const GAUGE_DECIMALS = 6;
const HOUR = 3_600_000;

/** A gauge's cells over `period`: its whole UTC hours, and quarter-hours where it covers an hour only in part. */
export function gaugeCells(period: Period): Tile[] {
  const cells: Tile[] = [];
  for (let at = period.start; at < period.end; ) {
    const granularity = periodStart('hour', at) === at && at + HOUR <= period.end ? 'hour' : 'quarter';
    cells.push({ granularity, start: at });
    at = nextPeriodStart(granularity, at);
  }
  return cells;
}

/**
 * Unit-months of a gauge: `before` is the last reading before the period, `readings` the period's hour counters
 * (keys "2026-01-01T00") and, where it starts or ends inside an hour, quarter-hour counters ("2026-01-01T18:30").
 */
export function unitMonths(
  before: string | undefined,
  readings: readonly { period: string; value: string }[],
  period: Period,
  asOf: number,
): string {
  const cellOf = (key: string) => {
    const granularity = key.length === keyLength.quarter ? 'quarter' : 'hour';
    return `${granularity}@${periodKeyStart(granularity, key)}`;
  };
  const byCell = new Map(readings.map((r) => [cellOf(r.period), r.value]));
  const hours = new Dec(period.end - period.start).div(HOUR);
  const until = Math.min(asOf, period.end);
  let current = new Dec(before ?? 0);
  let sum = new Dec(0);
  for (const cell of gaugeCells(period)) {
    if (cell.start >= until) break;
    const reading = byCell.get(`${cell.granularity}@${cell.start}`);
    if (reading !== undefined) current = new Dec(reading);
    sum = sum.plus(current.times(nextPeriodStart(cell.granularity, cell.start) - cell.start).div(HOUR));
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
  const read = async (ranges: CounterRange[]) =>
    (await Promise.all(ranges.map((r) => reads.values(tenantId, meter.key, r.granularity, r.from, r.to)))).flat();
  const counterRows = () => read(counterRanges(period));
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
        : String(await reads.distinctValues(tenantId, meter.key, counterRanges(period)));
    case 'LATEST': {
      const before = await reads.levelBefore(tenantId, meter.key, period.start);
      return unitMonths(before, await read(rangesOf(gaugeCells(period))), period, asOf);
    }
  }
}

/** One local day's quantity of a meter, and how many events its counters hold. */
export interface DayQuantity extends Period {
  day: string;
  value: string;
  events: number;
}

/** What the counters that tile one bucket hold together: their value by the aggregation, and the events they counted. */
export interface BucketCounter {
  value: string;
  events: number;
}

/**
 * The counters of consecutive buckets of any zone (a local day or month: `calendarPeriods` in kernel/zones.ts), each
 * from the UTC counters that tile it, all read at once run by run. SUM, COUNT and AVG add (AVG's mean is the caller's
 * to take), MAX and MIN take the extremes of the counters that counted an event, LATEST the newest, and TIME_WEIGHTED
 * counts events only (its value is the integral of its readings). UNIQUE_COUNT's counters do not add: a bucket of
 * more than one counter is the caller's to read from its markers. A bucket without a counter is `undefined`.
 */
export async function bucketCounters(
  read: (granularity: Granularity, from: string, to: string) => Promise<{ period: string; value: string; events: number }[]>,
  aggregation: Aggregation,
  buckets: readonly Period[],
): Promise<(BucketCounter | undefined)[]> {
  const bucketOf = new Map<string, number>();
  const all = buckets.flatMap((b, i) =>
    tiles(b).map((tile) => {
      bucketOf.set(`${tile.granularity}@${tile.start}`, i);
      return tile;
    }),
  );
  const ranges = rangesOf(all);
  const rows = await mapLimit(ranges, 8, (r) => read(r.granularity, r.from, r.to));
  const combine = (held: Dec, value: Dec) =>
    aggregation === 'MAX'
      ? Dec.max(held, value)
      : aggregation === 'MIN'
        ? Dec.min(held, value)
        : aggregation === 'LATEST'
          ? value
          : held.plus(value);
  const out: ({ value?: Dec; events: number } | undefined)[] = buckets.map(() => undefined);
  // Ranges run in time order and each one's rows ascend, so a bucket's last row is its newest.
  ranges.forEach((r, n) => {
    for (const row of rows[n]!) {
      const i = bucketOf.get(`${r.granularity}@${periodKeyStart(r.granularity, row.period)}`)!;
      const held = out[i] ?? { events: 0 };
      out[i] = held;
      held.events += row.events;
      if (aggregation === 'MIN' && row.events === 0) continue;
      held.value = held.value ? combine(held.value, new Dec(row.value)) : new Dec(row.value);
    }
  });
  return out.map((b) => b && { value: b.value?.toFixed() ?? '0', events: b.events });
}

/**
 * Each day's total (SUM, COUNT; MAX: its peak) and events, for days that tile a stretch of time (a zone's local days,
 * `calendarDays` in kernel/zones.ts).
 */
export async function dayTotals(
  values: CounterReads['values'],
  tenantId: string,
  meter: Pick<Meter, 'key' | 'aggregation'>,
  days: readonly (Period & { day: string })[],
): Promise<DayQuantity[]> {
  const counters = await bucketCounters((g, from, to) => values(tenantId, meter.key, g, from, to), meter.aggregation, days);
  return days.map((d, i) => ({
    day: d.day,
    start: d.start,
    end: d.end,
    value: counters[i]?.value ?? '0',
    events: counters[i]?.events ?? 0,
  }));
}

/**
 * Each day's quantity of a meter: what `billedQuantity` makes of the day alone. UNIQUE_COUNT and LATEST, which do
 * not fold across buckets, go day by day.
 */
export async function dayQuantities(
  reads: CounterReads,
  tenantId: string,
  meter: Meter,
  days: readonly (Period & { day: string })[],
  asOf: number,
): Promise<DayQuantity[]> {
  const totals = await dayTotals((...a) => reads.values(...a), tenantId, meter, days);
  if (meter.aggregation !== 'UNIQUE_COUNT' && meter.aggregation !== 'LATEST') return totals;
  return Promise.all(totals.map(async (d) => ({ ...d, value: await billedQuantity(reads, tenantId, meter, d, asOf) })));
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
