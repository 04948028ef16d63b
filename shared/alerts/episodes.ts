import * as z from 'zod';
import { type DomainEvent, domainEvent } from '../events/domain-events.js';
import { nextPeriodStart } from '../kernel/periods.js';
import { type AnomalyWindow, type ExpectedRange, judge } from './anomaly.js';
import type { Alert } from './rules.js';
import { arrived, type ExpectedGap, type UsageCount } from './silence.js';

/**
 * Anomaly and silence rules fire in episodes: one opens when the condition starts, is announced once, and
 * resolves when the condition ends; the next one is a new episode with a new id. What a rule has seen so
 * far lives in a watch, one per rule, meter and window, written before anything is announced: a run that
 * crashes after the write announces on the next run under the same event id, and a run that sees the same
 * state again announces nothing.
 */
export type WatchWindow = AnomalyWindow | 'silence';

/** `meter` is `*` for a silence rule over all of the tenant's meters. */
export const ALL_METERS = '*';

export const episodePointSchema = z.object({
  /** The window's start (anomaly) or the run's time (silence). */
  at: z.string(),
  value: z.string(),
  low: z.string().optional(),
  high: z.string().optional(),
});
export type EpisodePoint = z.infer<typeof episodePointSchema>;

export const episodeSchema = z.object({
  /** Anomaly: the first window out of range's start. Silence: when events were last seen. */
  start: z.string(),
  direction: z.enum(['spike', 'drop']).optional(),
  observed: z.string().optional(),
  expected: z.string().optional(),
  low: z.string().optional(),
  high: z.string().optional(),
  expectedGapMinutes: z.number().optional(),
  learned: z.boolean().optional(),
  firedAt: z.string(),
  notifiedAt: z.string().optional(),
  resolvedAt: z.string().optional(),
  resolvedNotifiedAt: z.string().optional(),
  /** The judged windows (anomaly) from the start to the resolution, at most MAX_POINTS: what the dashboard draws. */
  points: z.array(episodePointSchema),
});
export type Episode = z.infer<typeof episodeSchema>;

/** An episode as the tenant's history keeps it: with the rule, meter and window it belongs to. */
export type EpisodeRecord = Episode & Pick<Watch, 'alertId' | 'meter' | 'window'>;

export interface Watch {
  alertId: string;
  meter: string;
  window: WatchWindow;
  /** Bumped by every write; a write expecting an older version loses to a concurrent run. */
  version: number;
  /** Anomaly: the newest window judged (its start, ISO 8601), so a window is judged once. */
  judged?: string;
  /** Silence: the month's event count last read and when it last changed. */
  seen?: UsageCount & { at: string };
  /** The open episode, or the last one. */
  episode?: Episode;
}

const MAX_POINTS = 48;
const iso = (t: number) => new Date(t).toISOString();
export const isOpen = (w: Watch) => Boolean(w.episode && !w.episode.resolvedAt);
const addPoint = (e: Episode, p: EpisodePoint): Episode => ({ ...e, points: [...e.points, p].slice(-MAX_POINTS) });

export function newWatch(alertId: string, meter: string, window: WatchWindow): Watch {
  return { alertId, meter, window, version: 0 };
}

/**
 * Judges one complete window (its start) against its expected range. Undefined when the watch does not
 * change: the window was judged already.
 */
export function judgeWindow(w: Watch, start: number, observed: string, range: ExpectedRange, now: number): Watch | undefined {
  const at = iso(start);
  if (w.judged !== undefined && w.judged >= at) return undefined;
  const direction = judge(observed, range);
  const point = { at, value: observed, low: range.low, high: range.high };
  const next: Watch = { ...w, judged: at };
  if (isOpen(w)) {
    const episode = addPoint(w.episode!, point);
    return { ...next, episode: direction ? episode : { ...episode, resolvedAt: iso(now) } };
  }
  if (!direction) return next;
  return { ...next, episode: { start: at, direction, observed, ...range, firedAt: iso(now), points: [point] } };
}

/**
 * Reads the meter's event count at `now`. Events arriving resolve an open silence; none for longer than
 * `gap` since the clock started opens one. The first reading starts the clock.
 */
export function observeSilence(w: Watch, count: UsageCount, now: number, gap: ExpectedGap | undefined, clock: (seenAt: number) => number) {
  if (!w.seen) return { ...w, seen: { ...count, at: iso(now) } };
  if (arrived(w.seen, count)) {
    const seen = { ...count, at: iso(now) };
    if (!isOpen(w)) return { ...w, seen };
    return { ...w, seen, episode: { ...addPoint(w.episode!, { at: iso(now), value: String(count.events) }), resolvedAt: iso(now) } };
  }
  if (isOpen(w) || !gap) return undefined;
  const seenAt = Date.parse(w.seen.at);
  if (now - clock(seenAt) < gap.minutes * 60_000) return undefined;
  const episode: Episode = {
    start: w.seen.at,
    expectedGapMinutes: gap.minutes,
    learned: gap.learned,
    firedAt: iso(now),
    points: [{ at: iso(now), value: '0' }],
  };
  return { ...w, episode };
}

export type EpisodeRule = Extract<Alert, { kind: 'anomaly' | 'silence' }>;

/** The announcements the watch's episode still owes, with the field each one sets once it went out. */
export function owed(tenantId: string, rule: EpisodeRule, w: Watch): { event: DomainEvent; marks: 'notifiedAt' | 'resolvedNotifiedAt' }[] {
  const e = w.episode;
  if (!e) return [];
  const named = rule.name ? { name: rule.name } : {};
  const meter = w.meter === ALL_METERS ? {} : { meter: w.meter };
  const key = `${rule.id}:${w.meter}:${w.window}:${e.start}`;
  const out: { event: DomainEvent; marks: 'notifiedAt' | 'resolvedNotifiedAt' }[] = [];
  if (!e.notifiedAt) {
    if (rule.kind === 'silence') {
      const data = { alertId: rule.id, ...named, ...meter, since: e.start, expectedGapMinutes: e.expectedGapMinutes!, learned: e.learned! };
      out.push({ event: domainEvent('usage.silent', tenantId, key, data, e.firedAt), marks: 'notifiedAt' });
    } else if (w.window !== 'silence') {
      const start = Date.parse(e.start);
      const data = {
        alertId: rule.id,
        ...named,
        meter: w.meter,
        window: w.window,
        period: { start: e.start, end: iso(nextPeriodStart(w.window, start)) },
        direction: e.direction!,
        observed: e.observed!,
        expected: e.expected!,
        low: e.low!,
        high: e.high!,
        sensitivity: rule.sensitivity,
      };
      out.push({ event: domainEvent('usage.anomaly_detected', tenantId, key, data, e.firedAt), marks: 'notifiedAt' });
    }
  }
  // An anomaly's end is shown on the episode; only a silence's end is news a person waits for.
  if (rule.kind === 'silence' && e.resolvedAt && !e.resolvedNotifiedAt) {
    const data = { alertId: rule.id, ...named, ...meter, since: e.start, resumedAt: e.resolvedAt };
    out.push({ event: domainEvent('usage.resumed', tenantId, key, data, e.resolvedAt), marks: 'resolvedNotifiedAt' });
  }
  return out;
}
