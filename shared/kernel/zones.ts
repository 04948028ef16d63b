import type { Period } from './periods.js';

/**
 * A tenant's calendar: local days and months of an IANA time zone, from the platform's Intl data (the tz database
 * Node's ICU ships and updates), never from an offset table of our own. Instants are epoch milliseconds.
 *
 * A local day runs from the first instant of its date to the first instant of the next date, so a day of 23 or 25
 * hours (a DST change) is still one day; where a change skips midnight, the day starts when the clock jumps.
 */
export const UTC = 'UTC';

const MINUTE = 60_000;
const DAY = 86_400_000;

/** A calendar date: month 1-12. */
export interface LocalDate {
  year: number;
  month: number;
  day: number;
}

const formats = new Map<string, Intl.DateTimeFormat>();

function format(timeZone: string): Intl.DateTimeFormat {
  let f = formats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formats.set(timeZone, f);
  }
  return f;
}

/** Names such as `Asia/Kolkata` or `UTC`; Intl decides whether the zone exists. Offsets (`+05:30`) are not zones. */
const zoneName = /^[A-Za-z][A-Za-z0-9_+\-/]*$/;

export function isTimeZone(name: string): boolean {
  if (!zoneName.test(name) || name.length > 64) return false;
  try {
    format(name);
    return true;
  } catch {
    return false;
  }
}

/** The wall clock of `instant` in `timeZone`, as if it were UTC (epoch ms of the local date and time). */
function wallClock(timeZone: string, instant: number): number {
  // Most calendars are UTC's, whose wall clock is the instant itself: no formatting (a few microseconds a call, and
  // periods and day keys make several calls per event).
  if (timeZone === UTC) return instant;
  const parts: Record<string, number> = {};
  for (const p of format(timeZone).formatToParts(instant)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const seconds = Math.floor(instant / 1000) * 1000;
  return Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!) + (instant - seconds);
}

/** The zone's offset from UTC at `instant`, in minutes (+330 in Kolkata, +345 in Kathmandu, -300 or -240 in New York). */
export function offsetMinutes(timeZone: string, instant: number): number {
  return Math.round((wallClock(timeZone, instant) - instant) / MINUTE);
}

export function localDate(timeZone: string, instant: number): LocalDate {
  const d = new Date(wallClock(timeZone, instant));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/** `date` moved by whole days or months, the day clamped to the target month's length (Jan 31 + 1 month = Feb 28). */
export function addDays(date: LocalDate, days: number): LocalDate {
  const d = new Date(Date.UTC(date.year, date.month - 1, date.day + days));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

export function addMonths(date: LocalDate, months: number): LocalDate {
  const first = new Date(Date.UTC(date.year, date.month - 1 + months, 1));
  const length = new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + 1, 0)).getUTCDate();
  return { year: first.getUTCFullYear(), month: first.getUTCMonth() + 1, day: Math.min(date.day, length) };
}

const sameDate = (a: LocalDate, b: LocalDate) => a.year === b.year && a.month === b.month && a.day === b.day;

/**
 * The first instant of `date` in `timeZone`. Local midnight read with the offsets in force a day either side: of the
 * candidates whose local date is `date`, the earliest (a repeated midnight counts from its first occurrence; a skipped
 * one from the jump, which only the earlier offset lands after).
 */
export function startOfDate(timeZone: string, date: LocalDate): number {
  const wall = Date.UTC(date.year, date.month - 1, date.day);
  const candidates = [offsetMinutes(timeZone, wall - DAY), offsetMinutes(timeZone, wall + DAY)]
    .map((offset) => wall - offset * MINUTE)
    .filter((t) => sameDate(localDate(timeZone, t), date));
  if (candidates.length === 0) throw new RangeError(`no instant of ${dateKey(date)} found in ${timeZone}`);
  return Math.min(...candidates);
}

export const startOfDay = (timeZone: string, instant: number): number => startOfDate(timeZone, localDate(timeZone, instant));

/** The local day holding `instant`: 23, 24 or 25 hours (or what a zone's change makes of it). */
function localDay(timeZone: string, instant: number): Period {
  const date = localDate(timeZone, instant);
  return { start: startOfDate(timeZone, date), end: startOfDate(timeZone, addDays(date, 1)) };
}

/** The local calendar month holding `instant`. */
export function localMonth(timeZone: string, instant: number): Period {
  const first = { ...localDate(timeZone, instant), day: 1 };
  return { start: startOfDate(timeZone, first), end: startOfDate(timeZone, addMonths(first, 1)) };
}

/** "2026-03-08": the key of a local day, as UTC day keys are written. */
function dateKey(date: LocalDate): string {
  return `${String(date.year).padStart(4, '0')}-${String(date.month).padStart(2, '0')}-${String(date.day).padStart(2, '0')}`;
}

export const localDayKey = (timeZone: string, instant: number): string => dateKey(localDate(timeZone, instant));

/**
 * Which zone a tenant's calendar follows from when: `from` is an ISO instant, the first entry's is the epoch. A change
 * is appended to take effect at a period boundary, so no period already cut (nor an invoice issued for it) moves.
 */
export interface ZoneChange {
  from: string;
  timeZone: string;
}

/** A day or a month of a zone's calendar, by its key ("2026-03-08", "2026-03"). */
export type CalendarUnit = 'day' | 'month';

/**
 * The days (or months) of `period` on a calendar whose zone changes (`changes`): each zone's local days, cut where a
 * change takes effect. A day the old zone already named keeps its key and runs on to the new zone's next midnight (UTC
 * to New York at Feb 15 00:00 UTC: "02-14" lasts 29 hours), so a key is never two days; a month likewise.
 */
export function calendarPeriods(
  changes: readonly ZoneChange[] | undefined,
  period: Period,
  unit: CalendarUnit,
): (Period & { key: string })[] {
  const periods: (Period & { key: string })[] = [];
  for (let at = period.start; at < period.end; ) {
    const zone = zoneAt(changes, at);
    const next = (changes ?? []).map((c) => Date.parse(c.from)).find((from) => from > at) ?? Number.POSITIVE_INFINITY;
    const local = unit === 'day' ? localDay(zone.timeZone, at) : localMonth(zone.timeZone, at);
    const end = Math.min(local.end, next, period.end);
    const key = localDayKey(zone.timeZone, at).slice(0, unit === 'day' ? 10 : 7);
    const last = periods.at(-1);
    if (last && last.key === key) last.end = end;
    else periods.push({ key, start: at, end });
    at = end;
  }
  return periods;
}

/** `calendarPeriods` by day, each named by its `day` key. */
export const calendarDays = (changes: readonly ZoneChange[] | undefined, period: Period): (Period & { day: string })[] =>
  calendarPeriods(changes, period, 'day').map(({ key, ...p }) => ({ ...p, day: key }));

/** The zone in force at `instant`: UTC when nothing was ever set. */
export function zoneAt(changes: readonly ZoneChange[] | undefined, instant: number): ZoneChange {
  let current: ZoneChange = { from: new Date(0).toISOString(), timeZone: UTC };
  for (const change of changes ?? []) if (Date.parse(change.from) <= instant) current = change;
  return current;
}
