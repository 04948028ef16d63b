/**
 * UTC calendar arithmetic for counters and billing periods. Instants are epoch milliseconds;
 * period keys are ISO prefixes ("2026-11-23T09", "2026-11-23", "2026-11") that sort as strings.
 */
export const granularities = ['hour', 'day', 'month'] as const;
export type Granularity = (typeof granularities)[number];

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export function periodStart(granularity: Granularity, instant: number): number {
  const d = new Date(instant);
  switch (granularity) {
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

const keyLength: Record<Granularity, number> = { hour: 13, day: 10, month: 7 };

export function periodKey(granularity: Granularity, instant: number): string {
  return new Date(periodStart(granularity, instant)).toISOString().slice(0, keyLength[granularity]);
}

export function periodKeyStart(granularity: Granularity, key: string): number {
  const iso = { hour: `${key}:00:00Z`, day: `${key}T00:00:00Z`, month: `${key}-01T00:00:00Z` }[granularity];
  return Date.parse(iso);
}

export interface Period {
  start: number;
  end: number;
}

/** The calendar month holding `instant`: the billing period until a subscription says otherwise. */
export function calendarMonth(instant: number): Period {
  const start = periodStart('month', instant);
  return { start, end: nextPeriodStart('month', start) };
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
