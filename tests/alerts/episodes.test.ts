import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AlertEvaluatorDependencies, createAlertEvaluator } from '../../functions/alert-evaluator/alert-evaluator.js';
import { lambdaContext } from '../../local/lambda.js';
import type { EpisodeRecord, Watch } from '../../shared/alerts/episodes.js';
import type { Alert, AlertDefinition } from '../../shared/alerts/rules.js';
import { arrived, expectedGap, MAX_GAP_MINUTES, MIN_GAP_MINUTES } from '../../shared/alerts/silence.js';
import { type DomainEvent, domainEventSchema } from '../../shared/events/domain-events.js';
import { type Granularity, periodKey } from '../../shared/kernel/periods.js';

/**
 * The evaluator over anomaly and silence rules, on in-memory stores: the counters are built from the events
 * "counted" up to each run's time, runs come every five minutes as scheduled.
 */
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const RUN = 5 * MINUTE;

function world(rules: (AlertDefinition & { id: string })[]) {
  const counted: { at: number; value: number }[] = [];
  const watches = new Map<string, Watch>();
  const episodes = new Map<string, EpisodeRecord>();
  const sent: DomainEvent[] = [];
  let clock = 0;
  // The counted events by period, built once: every test counts its events before its first run.
  const index = new Map<Granularity, Map<string, { at: number; value: number }[]>>();
  const indexed = (g: Granularity) => {
    let periods = index.get(g);
    if (!periods) {
      periods = new Map();
      for (const e of counted) periods.set(periodKey(g, e.at), [...(periods.get(periodKey(g, e.at)) ?? []), e]);
      index.set(g, periods);
    }
    return periods;
  };
  let busDown = false;
  const deps: AlertEvaluatorDependencies = {
    tenantIds: async () => ['acme'],
    alerts: {
      listAlerts: async () => rules.map((r) => ({ ...r, tenantId: 'acme', createdAt: '2026-01-01T00:00:00.000Z' }) as Alert),
      firings: async () => [],
      recordFiring: async () => true,
      markNotified: async () => undefined,
      watches: async () => [...watches.values()].map((w) => structuredClone(w)),
      saveWatch: async (_t, w) => {
        const key = `${w.alertId}#${w.meter}#${w.window}`;
        if ((watches.get(key)?.version ?? 0) !== w.version - 1) return false;
        watches.set(key, structuredClone(w));
        if (w.episode) episodes.set(`${w.episode.start}#${key}`, { ...w.episode, alertId: w.alertId, meter: w.meter, window: w.window });
        return true;
      },
    },
    reads: {
      billing: {
        plan: async () => undefined,
        meters: async () => [{ key: 'api_calls', name: 'API calls', unit: 'call', aggregation: 'SUM', groupBy: [] }],
        quantity: async () => '0',
      },
      credits: async () => ({ grants: [], entries: [] }),
      quotaReads: { quantity: async () => '0', level: async () => '0' },
      subscription: async () => undefined,
      quotas: async () => [],
    },
    counters: {
      values: async (_t, _meter, g: Granularity, from, to) => {
        const rows: { period: string; value: string; events: number }[] = [];
        for (const [period, events] of indexed(g)) {
          if (period < from || period > to) continue;
          const seen = events.filter((e) => e.at <= clock);
          if (seen.length > 0) rows.push({ period, value: String(seen.reduce((n, e) => n + e.value, 0)), events: seen.length });
        }
        return rows.sort((a, b) => a.period.localeCompare(b.period));
      },
    },
    invoices: {
      progressiveInvoices: async () => [],
      issueProgressive: async () => undefined,
      credits: async () => ({ grants: [], entries: [] }),
      markAnnounced: async () => {},
      listPauses: async () => [],
    },
    sendToStripe: async () => undefined,
    publish: async (event) => {
      if (busDown) throw new Error('bus down');
      sent.push(domainEventSchema.parse(event) as DomainEvent);
    },
    now: () => clock,
  };
  const evaluate = createAlertEvaluator(deps);
  const run = async (at: number) => {
    clock = at;
    return evaluate({ time: new Date(at).toISOString() } as never, lambdaContext('alert-evaluator'));
  };
  return {
    counted,
    sent,
    episodes,
    run,
    /** Runs every five minutes over [from, to). */
    runEvery: async (from: number, to: number) => {
      for (let t = from; t < to; t += RUN) await run(t);
    },
    setBus: (down: boolean) => {
      busDown = down;
    },
  };
}

const weekday = (t: number) => new Date(t).getUTCDay() % 6 !== 0;

/** Office-hours usage: an event every 5 minutes from 8:00 to 18:00 on weekdays, with `value`. */
function officeHours(counted: { at: number; value: number }[], from: number, to: number, value = (_t: number) => 1) {
  for (let t = from; t < to; t += RUN) {
    const hour = new Date(t).getUTCHours();
    if (weekday(t) && hour >= 8 && hour < 18) counted.push({ at: t + 7_000, value: value(t) });
  }
}

describe('anomaly rules in the evaluator', () => {
  const start = Date.parse('2026-09-07T00:00:00Z'); // a Monday, six weeks before the spike

  it('fires once per episode with the expected range and the observed value, and re-runs fire nothing', async () => {
    const w = world([{ id: 'odd-usage', kind: 'anomaly', meter: 'api_calls', sensitivity: 'medium', name: 'Odd usage' }]);
    const spikeHour = Date.parse('2026-10-20T10:00:00Z'); // a Tuesday
    officeHours(w.counted, start, spikeHour + 2 * DAY, (t) => (t >= spikeHour && t < spikeHour + 2 * HOUR ? 50 : 10));
    // Six weeks of runs would take long; the hour before the spike and the day after are what matters.
    await w.runEvery(spikeHour - HOUR, spikeHour + 6 * HOUR);
    const detected = w.sent.filter((e) => e.type === 'usage.anomaly_detected');
    expect(detected).toHaveLength(1);
    expect(detected[0]).toMatchObject({
      id: 'usage.anomaly_detected:acme:odd-usage:api_calls:hour:2026-10-20T10:00:00.000Z',
      data: {
        alertId: 'odd-usage',
        name: 'Odd usage',
        meter: 'api_calls',
        window: 'hour',
        period: { start: '2026-10-20T10:00:00.000Z', end: '2026-10-20T11:00:00.000Z' },
        direction: 'spike',
        observed: '600',
        expected: '120',
        sensitivity: 'medium',
      },
    });
    expect(Number((detected[0]!.data as { high: string }).high)).toBeLessThan(600);
    // The spike's hour, the next (also high), then the first normal hour resolves the episode.
    const [episode] = [...w.episodes.values()].filter((e) => e.window === 'hour');
    expect(episode).toMatchObject({ start: '2026-10-20T10:00:00.000Z', resolvedAt: expect.any(String) });
    expect(episode!.points.map((p) => p.value)).toEqual(['600', '600', '120']);
    // The day's total was out of line too: one more episode, judged the next morning.
    await w.runEvery(spikeHour + 14 * HOUR, spikeHour + 15 * HOUR);
    expect(w.sent.map((e) => `${e.type} ${(e.data as { window: string }).window}`)).toEqual([
      'usage.anomaly_detected hour',
      'usage.anomaly_detected day',
    ]);
    await w.run(spikeHour + 15 * HOUR);
    expect(w.sent).toHaveLength(2);
  });

  it('stays quiet for a tenant with less than four weeks of history, whatever its usage does', async () => {
    const w = world([{ id: 'odd', kind: 'anomaly', sensitivity: 'high' }]);
    const spikeHour = Date.parse('2026-10-20T10:00:00Z');
    officeHours(w.counted, spikeHour - 20 * DAY, spikeHour + DAY, (t) => (t >= spikeHour && t < spikeHour + HOUR ? 1000 : 10));
    await w.runEvery(spikeHour, spikeHour + 26 * HOUR);
    expect(w.sent).toEqual([]);
  });

  it('announces on the next run, under the same id, what a failed publication left owed', async () => {
    const w = world([{ id: 'odd', kind: 'anomaly', meter: 'api_calls', sensitivity: 'medium' }]);
    const spikeHour = Date.parse('2026-10-20T10:00:00Z');
    officeHours(w.counted, start, spikeHour + HOUR, (t) => (t >= spikeHour ? 50 : 10));
    w.setBus(true);
    expect(await w.run(spikeHour + HOUR + 6 * MINUTE)).toMatchObject({ notified: 0, failedTenants: ['acme'] });
    w.setBus(false);
    expect(await w.run(spikeHour + HOUR + 11 * MINUTE)).toMatchObject({ episodes: 0, notified: 1 });
    expect(await w.run(spikeHour + HOUR + 16 * MINUTE)).toMatchObject({ episodes: 0, notified: 0 });
    expect(w.sent.map((e) => e.id)).toEqual(['usage.anomaly_detected:acme:odd:api_calls:hour:2026-10-20T10:00:00.000Z']);
  });
});

describe('silence rules in the evaluator', () => {
  const historyStart = Date.parse('2026-09-07T00:00:00Z');

  it('fires within one run of the learned gap when a meter that reports every 5 minutes stops, and resolves when events return', async () => {
    const w = world([{ id: 'quiet', kind: 'silence', meter: 'api_calls', name: 'Usage stopped' }]);
    const stop = Date.parse('2026-10-20T10:02:00Z'); // a Tuesday morning
    officeHours(w.counted, historyStart, stop);
    const back = Date.parse('2026-10-20T11:30:00Z');
    officeHours(w.counted, back, back + HOUR);
    await w.runEvery(Date.parse('2026-10-20T09:00:00Z'), Date.parse('2026-10-20T12:00:00Z'));
    const [silent, resumed, ...rest] = w.sent;
    expect(rest).toEqual([]);
    // The last event was counted at 10:00:07 and seen by the 10:05 run; 12 events an hour learn a 15-minute gap.
    expect(silent).toMatchObject({
      id: 'usage.silent:acme:quiet:api_calls:silence:2026-10-20T10:05:00.000Z',
      occurredAt: '2026-10-20T10:20:00.000Z',
      data: {
        alertId: 'quiet',
        name: 'Usage stopped',
        meter: 'api_calls',
        since: '2026-10-20T10:05:00.000Z',
        expectedGapMinutes: 15,
        learned: true,
      },
    });
    expect(Date.parse(silent!.occurredAt) - Date.parse((silent!.data as { since: string }).since)).toBeLessThan(15 * MINUTE + RUN);
    expect(resumed).toMatchObject({
      type: 'usage.resumed',
      id: silent!.id.replace('usage.silent', 'usage.resumed'),
      data: { since: '2026-10-20T10:05:00.000Z', resumedAt: '2026-10-20T11:35:00.000Z' },
    });
  });

  it('does not fire over a quiet weekend and a Monday morning that history says are normal', async () => {
    const w = world([{ id: 'quiet', kind: 'silence' }]);
    const friday = Date.parse('2026-10-23T00:00:00Z');
    officeHours(w.counted, historyStart, friday + 4 * DAY); // through Monday 18:00
    await w.runEvery(friday + 16 * HOUR, friday + 3 * DAY + 12 * HOUR);
    expect(w.sent).toEqual([]);
  });

  it('with a configured gap, fires at any hour, weekend included', async () => {
    const w = world([{ id: 'quiet', kind: 'silence', afterMinutes: 60 }]);
    const friday = Date.parse('2026-10-23T00:00:00Z');
    officeHours(w.counted, friday - 3 * DAY, friday + DAY);
    await w.runEvery(friday + 17 * HOUR, friday + 20 * HOUR);
    expect(w.sent.map((e) => [e.type, e.occurredAt, e.data])).toEqual([
      [
        'usage.silent',
        '2026-10-23T19:00:00.000Z',
        { alertId: 'quiet', since: '2026-10-23T18:00:00.000Z', expectedGapMinutes: 60, learned: false },
      ],
    ]);
  });
});

describe('the expected gap', () => {
  const weeks = fc.array(fc.integer({ min: 0, max: 10_000 }), { minLength: 4, maxLength: 4 });

  it('is learned only for an hour with events in 3 of the last 4 weeks, between 15 minutes and 3 hours, shorter for busier hours', () => {
    fc.assert(
      fc.property(weeks, weeks, (current, previous) => {
        const gap = expectedGap(undefined, { current, previous });
        if (current.filter((n) => n > 0).length < 3) {
          expect(gap).toBeUndefined();
          return;
        }
        expect(gap!.learned).toBe(true);
        expect(gap!.minutes).toBeGreaterThanOrEqual(MIN_GAP_MINUTES);
        expect(gap!.minutes).toBeLessThanOrEqual(MAX_GAP_MINUTES);
        const busier = expectedGap(undefined, { current: current.map((n) => n * 2), previous })!;
        expect(busier.minutes).toBeLessThanOrEqual(gap!.minutes);
      }),
    );
  });

  it('is the configured one at any hour, history or not', () => {
    fc.assert(
      fc.property(fc.integer({ min: 15, max: 10_080 }), weeks, (minutes, current) => {
        expect(expectedGap(minutes, { current, previous: current })).toEqual({ minutes, learned: false });
      }),
    );
  });

  it('sees events arrive when the month count changes, or a new month counts any', () => {
    expect(arrived({ month: '2026-10', events: 5 }, { month: '2026-10', events: 5 })).toBe(false);
    expect(arrived({ month: '2026-10', events: 5 }, { month: '2026-10', events: 6 })).toBe(true);
    expect(arrived({ month: '2026-10', events: 5 }, { month: '2026-11', events: 0 })).toBe(false);
    expect(arrived({ month: '2026-10', events: 5 }, { month: '2026-11', events: 1 })).toBe(true);
  });
});
