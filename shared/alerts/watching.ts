import type { DomainEvent } from '../events/domain-events.js';
import { type Granularity, periodKey, periodKeyStart } from '../kernel/periods.js';
import type { CounterReads } from '../metering/ports.js';
import {
  type AnomalyWindow,
  anomalyWindows,
  baselineKeys,
  baselineOf,
  dayRange,
  expectedRange,
  hasHistory,
  latestComplete,
} from './anomaly.js';
import {
  ALL_METERS,
  type EpisodeRule,
  isOpen,
  judgeWindow,
  newWatch,
  observeSilence,
  owed,
  type Watch,
  type WatchWindow,
} from './episodes.js';
import type { AlertStore } from './ports.js';
import { arrived, clockStart, expectedGap, type SilenceHistory } from './silence.js';

/**
 * One evaluator run over a tenant's anomaly and silence rules: read what each watch needs, advance it,
 * write it, then announce what it owes. Announcements still owed from a run that failed after its write go
 * out first, under their original ids.
 */
export interface WatchDependencies {
  alerts: Pick<AlertStore, 'watches' | 'saveWatch'>;
  counters: Pick<CounterReads, 'values'>;
  /** The keys of the tenant's meters. */
  meters(tenantId: string): Promise<string[]>;
  publish(event: DomainEvent): Promise<void>;
}

/** How long after a window ends it is judged: events of its last minutes are still on their way for a moment. */
export const SETTLE_MS = 5 * 60_000;
const HOUR = 3_600_000;
const WEEK = 7 * 24 * HOUR;

export async function watchTenant(
  deps: WatchDependencies,
  tenantId: string,
  rules: readonly EpisodeRule[],
  now: number,
): Promise<{ opened: number; notified: number }> {
  const out = { opened: 0, notified: 0 };
  if (rules.length === 0) return out;
  const [stored, meters] = await Promise.all([deps.alerts.watches(tenantId), deps.meters(tenantId)]);
  const byKey = new Map(stored.map((w) => [`${w.alertId}#${w.meter}#${w.window}`, w]));
  const at = new Date(now).toISOString();
  const values = (meter: string, g: Granularity, from: string, to: string) => deps.counters.values(tenantId, meter, g, from, to);

  /** Publishes what the watch owes, recording each announcement; undefined when another run wrote the watch meanwhile. */
  const announce = async (rule: EpisodeRule, w: Watch): Promise<Watch | undefined> => {
    for (const { event, marks } of owed(tenantId, rule, w)) {
      await deps.publish(event);
      const marked: Watch = { ...w, version: w.version + 1, episode: { ...w.episode!, [marks]: at } };
      if (!(await deps.alerts.saveWatch(tenantId, marked))) return undefined;
      w = marked;
      out.notified += 1;
    }
    return w;
  };

  const advance = async (rule: EpisodeRule, meter: string, window: WatchWindow, step: (w: Watch) => Promise<Watch | undefined>) => {
    const w = await announce(rule, byKey.get(`${rule.id}#${meter}#${window}`) ?? newWatch(rule.id, meter, window));
    if (!w) return;
    const next = await step(w);
    if (!next) return;
    const saved = { ...next, version: w.version + 1 };
    if (!(await deps.alerts.saveWatch(tenantId, saved))) return;
    if (saved.episode && saved.episode.start !== w.episode?.start) out.opened += 1;
    await announce(rule, saved);
  };

  const judgeAnomaly = (rule: Extract<EpisodeRule, { kind: 'anomaly' }>, meter: string, window: AnomalyWindow) => async (w: Watch) => {
    const start = latestComplete(window, now, SETTLE_MS);
    if (w.judged !== undefined && w.judged >= new Date(start).toISOString()) return undefined;
    const range = dayRange(start);
    const days = await values(meter, 'day', range.from, range.to);
    const first = days.find((d) => d.events > 0);
    if (!hasHistory(first && periodKeyStart('day', first.period), start)) return { ...w, judged: new Date(start).toISOString() };
    const counted = new Map(days.map((d) => [`day#${d.period}`, d.value]));
    if (window === 'hour') {
      const keys = baselineKeys('hour', start);
      const hours = [periodKey('hour', start), ...keys.weekly, ...keys.monthly.flatMap((m) => [m.key, ...m.weekly])];
      const rows = await Promise.all(hours.map((k) => values(meter, 'hour', k, k)));
      for (const r of rows.flat()) counted.set(`hour#${r.period}`, r.value);
    }
    const value = (g: AnomalyWindow, key: string) => counted.get(`${g}#${key}`) ?? '0';
    const observed = value(window, periodKey(window, start));
    return judgeWindow(w, start, observed, expectedRange(baselineOf(window, start, value), rule.sensitivity), now);
  };

  const watchSilence = (rule: Extract<EpisodeRule, { kind: 'silence' }>, watched: string[]) => async (w: Watch) => {
    const month = periodKey('month', now);
    const counts = await Promise.all(watched.map((m) => values(m, 'month', month, month)));
    const count = { month, events: counts.flat().reduce((n, r) => n + r.events, 0) };
    // The history is read only when it decides something: nothing arrived and no silence is open yet.
    const decides = w.seen !== undefined && !arrived(w.seen, count) && !isOpen(w);
    const history = decides && rule.afterMinutes === undefined ? await silenceHistory(watched) : { current: [], previous: [] };
    const gap = decides ? expectedGap(rule.afterMinutes, history) : undefined;
    return observeSilence(w, count, now, gap, (seenAt) => (gap ? clockStart(seenAt, now, gap, history) : seenAt));
  };

  /** Events counted in this hour of the week and the hour before, 1-4 weeks back, over the watched meters. */
  const silenceHistory = async (watched: string[]): Promise<SilenceHistory> => {
    const weeks = await Promise.all(
      [1, 2, 3, 4].map(async (i) => {
        const current = periodKey('hour', now - i * WEEK);
        const previous = periodKey('hour', now - i * WEEK - HOUR);
        const rows = (await Promise.all(watched.map((m) => values(m, 'hour', previous, current)))).flat();
        const sum = (key: string) => rows.filter((r) => r.period === key).reduce((n, r) => n + r.events, 0);
        return { current: sum(current), previous: sum(previous) };
      }),
    );
    return { current: weeks.map((w) => w.current), previous: weeks.map((w) => w.previous) };
  };

  for (const rule of rules) {
    const watched = rule.meter ? meters.filter((m) => m === rule.meter) : meters;
    if (rule.kind === 'anomaly') {
      for (const meter of watched)
        for (const window of anomalyWindows) await advance(rule, meter, window, judgeAnomaly(rule, meter, window));
    } else if (watched.length > 0) {
      await advance(rule, rule.meter ?? ALL_METERS, 'silence', watchSilence(rule, watched));
    }
  }
  return out;
}
