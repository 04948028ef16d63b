/**
 * Formatting of the API's decimal strings. Intl.NumberFormat formats a string exactly (no float
 * conversion), so "478.50" shows as "$478.50" and "0.0025" keeps its digits.
 */
const moneyFormats = new Map<string, Intl.NumberFormat>();

export function money(amount: string | null | undefined, currency: string): string {
  if (amount === null || amount === undefined) return '—';
  let f = moneyFormats.get(currency);
  if (!f) {
    f = new Intl.NumberFormat('en-US', { style: 'currency', currency, maximumFractionDigits: 12 });
    moneyFormats.set(currency, f);
  }
  return f.format(amount as unknown as number);
}

const quantityFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 12 });

export function quantity(value: string | null | undefined): string {
  if (value === null || value === undefined) return '—';
  return quantityFormat.format(value as unknown as number);
}

/** English plural of a unit; symbols and abbreviations (s, ms, GB) stay as they are. */
export function plural(unit: string, value: string): string {
  if (/^-?1(\.0*)?$/.test(value)) return unit;
  const m = /([A-Za-z]+)$/.exec(unit);
  const word = m?.[1] ?? '';
  if (!word || word.length <= 2 || (/[A-Z]/.test(word) && word.length <= 4)) return unit;
  if (/(s|x|z|ch|sh)$/.test(word)) return `${unit}es`;
  if (/[^aeiou]y$/.test(word)) return `${unit.slice(0, -1)}ies`;
  return `${unit}s`;
}

/**
 * A quantity as a person reads it at a glance: two decimals, or three significant digits where two decimals would show
 * nothing ("42.13", "6.89", "0.000123"). Invoices and tables keep every digit; cards that sum up use this.
 */
const readableFormat = new Intl.NumberFormat('en-US', {
  maximumFractionDigits: 2,
  maximumSignificantDigits: 3,
  roundingPriority: 'morePrecision',
});

export function withUnit(value: string | null | undefined, unit: string, format: 'exact' | 'readable' = 'exact'): string {
  if (value === null || value === undefined) return '—';
  const shown = format === 'exact' ? quantity(value) : readableFormat.format(value as unknown as number);
  return `${shown} ${plural(unit, value)}`;
}

/** The date of an instant in a time zone: the tenant's subscription zone where the page knows it, else UTC. */
export function day(iso: string, timeZone = 'UTC'): string {
  return new Date(iso).toLocaleDateString('en-US', { timeZone, year: 'numeric', month: 'short', day: 'numeric' });
}

/** A bucket's label in the tenant's zone: its local date, its date and hour for an hourly bucket, its month for a monthly one. */
export function bucketLabel(ms: number, granularity: string, timeZone: string): string {
  const date = { timeZone, month: 'short', day: 'numeric' } as const;
  if (granularity === 'month') return new Date(ms).toLocaleDateString('en-US', { timeZone, month: 'short', year: 'numeric' });
  return granularity === 'hour'
    ? new Date(ms).toLocaleString('en-US', { ...date, hour: 'numeric', hourCycle: 'h23', minute: '2-digit' })
    : new Date(ms).toLocaleDateString('en-US', { ...date, year: 'numeric' });
}

/**
 * The first instant of a calendar date ("2026-04-05") in `timeZone`: the date's UTC midnight moved by the zone's
 * offset there, read twice so an offset that changes that night is the one in force at local midnight.
 */
export function zoneMidnight(date: string, timeZone: string): number {
  const wall = Date.parse(`${date}T00:00:00Z`);
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
  });
  const offset = (at: number) => {
    const parts: Record<string, number> = {};
    for (const p of format.formatToParts(at)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
    return Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!) - (at - (at % 60_000));
  };
  const guess = wall - offset(wall);
  return wall - offset(guess);
}

/** Today's date ("2026-04-05") in `timeZone`. */
export const zoneToday = (timeZone: string): string => new Date().toLocaleDateString('en-CA', { timeZone });

export function dateTime(iso: string): string {
  return `${new Date(iso).toLocaleString('en-US', { timeZone: 'UTC', dateStyle: 'medium', timeStyle: 'short' })} UTC`;
}

/** The last day a period covers (its end is exclusive). */
export function lastDay(endIso: string, timeZone = 'UTC'): string {
  return day(new Date(Date.parse(endIso) - 1).toISOString(), timeZone);
}

export function trend(percent: string | null): { text: string; direction: 'up' | 'down' | 'flat' | 'none' } {
  if (percent === null) return { text: 'no previous period', direction: 'none' };
  if (/^-?0(\.0*)?$/.test(percent)) return { text: 'same as last period', direction: 'flat' };
  const up = !percent.startsWith('-');
  return { text: `${up ? '+' : '−'}${percent.replace('-', '')}% vs last period`, direction: up ? 'up' : 'down' };
}
