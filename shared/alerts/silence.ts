import { periodStart } from '../kernel/periods.js';
import { WEEKS } from './anomaly.js';

/**
 * Silence detection: a meter (or a tenant's meters together) that normally reports has reported nothing
 * for longer than it should.
 *
 * How long is too long is configured on the rule (`afterMinutes`, then it applies at every hour), or
 * learned from the same hour of the week over the last four weeks: the hour is one in which the meter
 * normally reports when it had events in at least 3 of those 4 hours, and the expected gap is three mean
 * intervals between events in them (60 minutes / the median count, times 3), at least 15 minutes and at
 * most 3 hours. An hour in which the meter does not normally report (a quiet night, a quiet weekend) never
 * fires a learned rule, and when the hour before did not normally report either, the clock starts at the
 * hour's start, not at Friday's last event. A meter with less than four weeks of reporting has no normal
 * hours yet, so a learned rule stays quiet until it has.
 *
 * When events were last seen is what the evaluator observed: the first run in which the meter's event
 * count for the month had grown. A silence fires at the first run at least the expected gap after that,
 * so within one evaluation interval after the gap has passed.
 */
export const MIN_GAP_MINUTES = 15;
export const MAX_GAP_MINUTES = 180;
const ACTIVE_WEEKS = 3;

/** Event counts of the current hour of the week and of the hour before it, 1-4 weeks back (0 for none). */
export interface SilenceHistory {
  current: readonly number[];
  previous: readonly number[];
}

const active = (counts: readonly number[]) => counts.filter((n) => n > 0).length >= ACTIVE_WEEKS;

export interface ExpectedGap {
  minutes: number;
  learned: boolean;
}

/** The longest the meter should go without events at this hour; undefined when it is not expected to report now. */
export function expectedGap(afterMinutes: number | undefined, history: SilenceHistory): ExpectedGap | undefined {
  if (afterMinutes !== undefined) return { minutes: afterMinutes, learned: false };
  if (history.current.length < WEEKS || !active(history.current)) return undefined;
  const counts = [...history.current].sort((a, b) => a - b);
  const medianCount = (counts[1]! + counts[2]!) / 2;
  const minutes = Math.ceil((3 * 60) / Math.max(medianCount, 1));
  return { minutes: Math.min(MAX_GAP_MINUTES, Math.max(MIN_GAP_MINUTES, minutes)), learned: true };
}

/**
 * Where the silence clock starts: when events were last seen, or the start of this hour when the hour
 * before is one the meter does not normally report in (learned rules only).
 */
export function clockStart(seenAt: number, now: number, gap: ExpectedGap, history: SilenceHistory): number {
  if (!gap.learned || active(history.previous)) return seenAt;
  return Math.max(seenAt, periodStart('hour', now));
}

/** What the evaluator reads to see whether events arrived: the event count of the month's counters. */
export interface UsageCount {
  /** The month's key ("2026-11"). */
  month: string;
  events: number;
}

/** Whether events arrived since `before` was read: the count changed, or a new month has counted any. */
export function arrived(before: UsageCount, now: UsageCount): boolean {
  return before.month === now.month ? now.events !== before.events : now.events > 0;
}
