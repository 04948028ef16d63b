import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AnomalyWindow,
  anomalyWindows,
  baselineKeys,
  baselineOf,
  expectedRange,
  hasHistory,
  judge,
  latestComplete,
  type Sensitivity,
  sensitivities,
} from '../../shared/alerts/anomaly.js';
import { judgeWindow, newWatch, type Watch } from '../../shared/alerts/episodes.js';
import { Dec } from '../../shared/kernel/decimal.js';
import { nextPeriodStart } from '../../shared/kernel/periods.js';
import { countersOf, generateQuarter } from './usage-quarter.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const quantity = fc.integer({ min: 0, max: 1_000_000 }).map(String);
const baseline = fc.record({
  weekly: fc.array(quantity, { minLength: 4, maxLength: 4 }),
  monthly: fc.oneof(
    fc.constant([]),
    fc.array(fc.record({ value: quantity, weekly: fc.array(quantity, { minLength: 4, maxLength: 4 }) }), { minLength: 2, maxLength: 2 }),
  ),
  typical: quantity,
});

describe('the expected range', () => {
  it('holds the median of the weeks, and every week when they agree within the floor', () => {
    fc.assert(
      fc.property(baseline, fc.constantFrom(...sensitivities), (b, s) => {
        const r = expectedRange(b, s);
        expect(new Dec(r.low).lessThanOrEqualTo(r.expected) && new Dec(r.expected).lessThanOrEqualTo(r.high)).toBe(true);
        expect(new Dec(r.low).greaterThanOrEqualTo(0)).toBe(true);
        expect(judge(r.expected, r)).toBeUndefined();
      }),
    );
  });

  it('is not moved by one odd week among the four', () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 100_000 }), fc.integer({ min: 0, max: 10_000_000 }), (level, odd) => {
        const usual = { monthly: [], typical: '0' };
        const plain = expectedRange({ ...usual, weekly: [level, level, level, level].map(String) }, 'medium');
        const oneOdd = expectedRange({ ...usual, weekly: [level, odd, level, level].map(String) }, 'medium');
        expect(oneOdd.expected).toBe(plain.expected);
      }),
    );
  });

  it('widens as sensitivity falls, and a wider range judges fewer values out of it', () => {
    const order: Sensitivity[] = ['high', 'medium', 'low'];
    fc.assert(
      fc.property(baseline, quantity, (b, observed) => {
        const ranges = order.map((s) => expectedRange(b, s));
        for (let i = 1; i < ranges.length; i++) {
          expect(new Dec(ranges[i]!.high).greaterThanOrEqualTo(ranges[i - 1]!.high)).toBe(true);
          expect(new Dec(ranges[i]!.low).lessThanOrEqualTo(ranges[i - 1]!.low)).toBe(true);
          if (judge(observed, ranges[i]!)) expect(judge(observed, ranges[i - 1]!)).toBe(judge(observed, ranges[i]!));
        }
      }),
    );
  });

  it('lets a month-end burst seen at the same place in both earlier months through, and only upwards', () => {
    const weekly = ['100', '110', '90', '105'];
    const plain = expectedRange({ weekly, monthly: [], typical: '100' }, 'medium');
    const burst = (value: string) => ({ value, weekly: ['40', '50', '60', '50'] });
    const monthEnd = expectedRange({ weekly, monthly: [burst('130'), burst('120')], typical: '100' }, 'medium');
    expect(judge('250', plain)).toBe('spike');
    expect(judge('250', monthEnd)).toBeUndefined();
    expect(monthEnd.low).toBe(plain.low);
  });

  it('reads the same hour of the week four weeks back, and the month-end analogues only in a month’s last week', () => {
    const start = Date.parse('2026-10-30T14:00:00Z');
    expect(baselineKeys('hour', start)).toEqual({
      weekly: ['2026-10-23T14', '2026-10-16T14', '2026-10-09T14', '2026-10-02T14'],
      monthly: [
        { key: '2026-09-29T14', weekly: ['2026-09-22T14', '2026-09-15T14', '2026-09-08T14', '2026-09-01T14'] },
        { key: '2026-08-30T14', weekly: ['2026-08-23T14', '2026-08-16T14', '2026-08-09T14', '2026-08-02T14'] },
      ],
    });
    expect(baselineKeys('day', Date.parse('2026-10-10T00:00:00Z')).monthly).toEqual([]);
  });

  it('judges nothing without four weeks of history, and only complete windows', () => {
    const now = Date.parse('2026-11-10T10:07:00Z');
    expect(hasHistory(undefined, now)).toBe(false);
    expect(hasHistory(now - 27 * DAY, now)).toBe(false);
    expect(hasHistory(now - 28 * DAY, now)).toBe(true);
    expect(new Date(latestComplete('hour', now, 5 * 60_000)).toISOString()).toBe('2026-11-10T09:00:00.000Z');
    expect(new Date(latestComplete('hour', now - 3 * 60_000, 5 * 60_000)).toISOString()).toBe('2026-11-10T08:00:00.000Z');
    expect(new Date(latestComplete('day', now, 5 * 60_000)).toISOString()).toBe('2026-11-09T00:00:00.000Z');
  });
});

describe('episodes', () => {
  const range = { expected: '100', low: '50', high: '150' };
  const values = fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 60 });

  it('open once per run of windows out of range, resolve at the first window back in it, and judge a window once', () => {
    fc.assert(
      fc.property(values, (series) => {
        let w: Watch = newWatch('a', 'orders', 'hour');
        const opened: string[] = [];
        series.forEach((v, i) => {
          const start = Date.parse('2026-11-01T00:00:00Z') + i * HOUR;
          const before = w.episode;
          w = judgeWindow(w, start, String(v), range, start + HOUR) ?? w;
          // Judging the same window again, as a second run does, changes nothing.
          expect(judgeWindow(w, start, String(v), range, start + HOUR + 300_000)).toBeUndefined();
          if (w.episode && w.episode !== before && w.episode.start === new Date(start).toISOString()) opened.push(w.episode.start);
        });
        const out = series.map((v) => v < 50 || v > 150);
        const starts = out.filter((o, i) => o && (i === 0 || !out[i - 1])).length;
        expect(opened).toHaveLength(starts);
      }),
    );
  });
});

describe('a generated quarter of usage with injected anomalies', () => {
  const from = Date.parse('2026-05-04T00:00:00Z');
  const quarterStart = Date.parse('2026-08-01T00:00:00Z');
  const quarterEnd = Date.parse('2026-11-01T00:00:00Z');

  const SEEDS = [1, 2, 3];

  function detect(seed: number, sensitivity: Sensitivity) {
    const { values, injected } = generateQuarter(seed, from, quarterStart, quarterEnd);
    const value = countersOf(values);
    const episodes: { window: AnomalyWindow; start: number; end: number }[] = [];
    for (const window of anomalyWindows) {
      let w: Watch = newWatch('a', 'orders', window);
      for (let start = quarterStart; start < quarterEnd; start = nextPeriodStart(window, start)) {
        if (!hasHistory(from, start)) continue;
        const observed = value(window, new Date(start).toISOString().slice(0, window === 'hour' ? 13 : 10));
        const before = w.episode;
        w = judgeWindow(w, start, observed, expectedRange(baselineOf(window, start, value), sensitivity), start) ?? w;
        if (w.episode !== before && w.episode?.start === new Date(start).toISOString())
          episodes.push({ window, start, end: nextPeriodStart(window, start) });
      }
    }
    const overlaps = (e: { start: number; end: number }, i: { start: number; hours: number }) =>
      e.start < i.start + i.hours * HOUR && i.start < e.end;
    const truePositives = episodes.filter((e) => injected.some((i) => overlaps(e, i))).length;
    const found = injected.filter((i) => episodes.some((e) => overlaps(e, i)));
    return { episodes, injected, truePositives, found };
  }

  it('prints precision and recall, and fires on nearly every injected anomaly and rarely on seasonality', () => {
    const lines: string[] = [];
    const precisions = new Map<Sensitivity, [number, number]>();
    for (const sensitivity of sensitivities) {
      let episodes = 0;
      let truePositives = 0;
      let injected = 0;
      let found = 0;
      const missed = new Map<string, number>();
      for (const seed of SEEDS) {
        const r = detect(seed, sensitivity);
        episodes += r.episodes.length;
        truePositives += r.truePositives;
        injected += r.injected.length;
        found += r.found.length;
        for (const i of r.injected) if (!r.found.includes(i)) missed.set(i.what, (missed.get(i.what) ?? 0) + 1);
      }
      const precision = truePositives / episodes;
      const recall = found / injected;
      lines.push(
        `${sensitivity}: ${episodes} episodes, ${truePositives} on injected anomalies; precision ${precision.toFixed(2)}, recall ${recall.toFixed(2)} (${found}/${injected})` +
          (missed.size ? `; missed ${[...missed].map(([w, n]) => `${n}x ${w}`).join(', ')}` : ''),
      );
      precisions.set(sensitivity, [precision, recall]);
    }
    console.log(`anomaly detection over ${SEEDS.length} generated quarters (12 injected anomalies each):\n  ${lines.join('\n  ')}`);
    expect(precisions.get('medium')![0]).toBeGreaterThanOrEqual(0.75);
    expect(precisions.get('medium')![1]).toBeGreaterThanOrEqual(0.85);
  });
});
