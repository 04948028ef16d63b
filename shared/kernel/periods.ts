/**
 * UTC calendar arithmetic for counters. Instants are epoch milliseconds; period keys are ISO prefixes
 * ("2026-11-23T09:15", "2026-11-23T09", "2026-11-23", "2026-11") that sort as strings.
 *
 * Counters are kept in UTC buckets only; a tenant's local days and months (./zones.ts) are read as the UTC
 * months, days, hours and quarter-hours that tile them (`tiles`). Every zone's offset today is a whole number of
 * quarter-hours (+05:30 Kolkata, +05:45 Kathmandu), so every zone's day is such a tiling.
 */
export const granularities = ['hour', 'day', 'month', 'quarter'] as const;
export type Granularity = (typeof granularities)[number];

const QUARTER = 900_000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export function periodStart(granularity: Granularity, instant: number): number {
  const d = new Date(instant);
  switch (granularity) {
    case 'quarter':
      return instant - (((instant % QUARTER) + QUARTER) % QUARTER);
    case 'hour':
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours());
    case 'day':
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
    case 'month':
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  }
}

export function nextPeriodStart(granularity: Granularity, start: number): number {
  switch (granularity) {
    case 'quarter':
      return start + QUARTER;
    case 'hour':
      return start + HOUR;
    case 'day':
      return start + DAY;
    case 'month': {
      const d = new Date(start);
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
    }
  }
}

export const keyLength: Record<Granularity, number> = { quarter: 16, hour: 13, day: 10, month: 7 };

export function periodKey(granularity: Granularity, instant: number): string {
  return new Date(periodStart(granularity, instant)).toISOString().slice(0, keyLength[granularity]);
}

export function periodKeyStart(granularity: Granularity, key: string): number {
  const iso = { quarter: `${key}:00Z`, hour: `${key}:00:00Z`, day: `${key}T00:00:00Z`, month: `${key}-01T00:00:00Z` }[granularity];
  return Date.parse(iso);
}

export interface Period {
  start: number;
  end: number;
}

/** The UTC calendar month holding `instant` (a tenant's own month is `localMonth` in ./zones.ts). */
export function calendarMonth(instant: number): Period {
  const start = periodStart('month', instant);
  return { start, end: nextPeriodStart('month', start) };
}

/** One UTC counter bucket. */
export interface Tile {
  granularity: Granularity;
  start: number;
}

/**
 * The UTC buckets that tile `period`, largest first where they fit: whole months, then days, hours and quarter-hours
 * at the edges. A local day in Sydney is 24 hours (23 or 25 across DST); in Kolkata 2 quarters, 23 hours, 2 quarters.
 * Throws for a period whose ends are not on a quarter-hour.
 */
export function tiles(period: Period): Tile[] {
  if (period.start % QUARTER !== 0 || period.end % QUARTER !== 0) {
    throw new RangeError(`${toIso(period.start)}..${toIso(period.end)} does not start and end on a quarter-hour`);
  }
  const out: Tile[] = [];
  for (let at = period.start; at < period.end; ) {
    const granularity =
      (['month', 'day', 'hour'] as const).find((g) => periodStart(g, at) === at && nextPeriodStart(g, at) <= period.end) ?? 'quarter';
    out.push({ granularity, start: at });
    at = nextPeriodStart(granularity, at);
  }
  return out;
}

/**
 * The oldest event timestamp ingest still accepts. The previous month stays open for late events
 * until its grace window has passed (the invoice job closes it then); after that only the current
 * month is open.
 */
export function oldestOpenInstant(now: number, graceHours: number): number {
  const current = periodStart('month', now);
  if (now < current + graceHours * HOUR) {
    return periodStart('month', current - 1);
  }
  return current;
}

export function toIso(instant: number): string {
  return new Date(instant).toISOString();
}
