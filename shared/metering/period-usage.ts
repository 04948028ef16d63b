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
import type { Meter } from './meters.js';
import type { CounterReads, MeterQuantities } from './ports.js';

/**
 * How a billing period's quantity comes out of the UTC counters. A period is any stretch on quarter-hours (a tenant's
 * local month, in any zone): it is read as the UTC buckets that tile it (`tiles` in kernel/periods.ts).
 *
 * - SUM and COUNT add the counters that tile the period; MAX takes the largest of them.
 * - UNIQUE_COUNT counts distinct values over the period: the month counter when the period is exactly
 *   a UTC calendar month, otherwise the distinct values of the markers of the buckets that tile it.
 * - LATEST meters are gauges (storage): priced in unit-months, the time-weighted average of their readings. Each
 *   hour of the period holds its latest reading (each quarter-hour, in an hour the period only partly covers); a
 *   cell without one carries the last reading forward, starting from the last reading before the period (0 if
 *   none). The readings over the cells up to `asOf`, weighted by their length in hours, are divided by the hours
 *   of the whole period (721 for a month that gains an hour to DST), and rounded half-up to 6 decimals: 45 GB all
 *   month = 45 GB-months; 100 GB for the last 10 days of a 30-day month = 33.333333 GB-months.
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

/** The billed quantity of one meter over `period`, by the rules above. Only meter totals are read: prices apply to a meter as a whole. */
export async function billedQuantity(reads: CounterReads, tenantId: string, meter: Meter, period: Period, asOf: number): Promise<string> {
  const read = async (ranges: CounterRange[]) =>
    (await Promise.all(ranges.map((r) => reads.values(tenantId, meter.key, r.granularity, r.from, r.to)))).flat();
  const counterValues = async () => (await read(counterRanges(period))).map((r) => new Dec(r.value));
  switch (meter.aggregation) {
    case 'SUM':
    case 'COUNT':
      return (await counterValues()).reduce((sum, v) => sum.plus(v), new Dec(0)).toFixed();
    case 'MAX':
      return (await counterValues()).reduce((max, v) => Dec.max(max, v), new Dec(0)).toFixed();
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

/**
 * Each day's total (SUM, COUNT; MAX: its peak) and events, for days that tile a stretch of time (a zone's local days,
 * `calendarDays` in kernel/zones.ts), from the buckets of all days read at once, run by run.
 */
export async function dayTotals(
  values: CounterReads['values'],
  tenantId: string,
  meter: Pick<Meter, 'key' | 'aggregation'>,
  days: readonly (Period & { day: string })[],
): Promise<DayQuantity[]> {
  const dayOf = new Map<string, number>();
  const buckets = days.flatMap((d, i) =>
    tiles(d).map((tile) => {
      dayOf.set(`${tile.granularity}@${tile.start}`, i);
      return tile;
    }),
  );
  const out = days.map((d) => ({ day: d.day, start: d.start, end: d.end, value: new Dec(0), events: 0 }));
  for (const r of rangesOf(buckets)) {
    for (const row of await values(tenantId, meter.key, r.granularity, r.from, r.to)) {
      const day = out[dayOf.get(`${r.granularity}@${periodKeyStart(r.granularity, row.period)}`)!]!;
      day.events += row.events;
      day.value = meter.aggregation === 'MAX' ? Dec.max(day.value, row.value) : day.value.plus(row.value);
    }
  }
  return out.map((d) => ({ ...d, value: d.value.toFixed() }));
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
    level: async (tenantId, meter, instant) =>
      (await reads.levelBefore(tenantId, meter.key, nextPeriodStart('hour', periodStart('hour', instant)))) ?? '0',
  };
}
