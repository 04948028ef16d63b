import { describe, expect, it } from 'vitest';
import { counterKey, countersOf } from '../../shared/metering/aggregation.js';
import type { UsageEvent } from '../../shared/metering/events.js';
import type { Meter } from '../../shared/metering/meters.js';
import type { LedgerPage, RecomputeStore } from '../../shared/metering/ports.js';
import { emptyProgress, type LiveCounter } from '../../shared/metering/recompute.js';
import { MAX_ATTEMPTS, type RecomputeJob, runRecompute } from '../../shared/metering/recompute-job.js';

/**
 * One recompute run over a ledger and live counters in memory: what an operator reads in the job afterwards
 * (status, progress, drifts and their repairs, the error) and what the run wrote while it went.
 */
const t0 = Date.parse('2026-11-20T00:00:00Z');
const meters: Meter[] = [
  { key: 'orders', name: 'Orders', unit: 'order', aggregation: 'SUM', groupBy: [] },
  { key: 'seats', name: 'Seats', unit: 'user', aggregation: 'UNIQUE_COUNT', valueProperty: 'user_id', groupBy: [] },
];
const event = (id: string, meter: 'orders' | 'seats', value: string, timestamp = '2026-11-03T10:05:00.000Z'): UsageEvent => ({
  tenantId: 'acme',
  id,
  meter,
  aggregation: meter === 'orders' ? 'SUM' : 'UNIQUE_COUNT',
  value,
  timestamp,
  groupKey: '',
  payloadHash: id,
  receivedAt: timestamp,
});
/** The live counters exactly as the ledger's `events` make them. */
const liveOf = (events: UsageEvent[]) => {
  const live = new Map<string, LiveCounter>();
  for (const e of events)
    for (const ref of countersOf(e)) {
      const c = live.get(counterKey(ref)) ?? { ref, events: 0, value: '0', ...(e.aggregation === 'UNIQUE_COUNT' ? { markers: [] } : {}) };
      c.events += 1;
      if (e.aggregation === 'UNIQUE_COUNT') {
        if (!c.markers!.includes(e.value)) {
          c.markers!.push(e.value);
          c.value = String(c.markers!.length);
        }
      } else c.value = String(Number(c.value) + Number(e.value));
      live.set(counterKey(ref), c);
    }
  return live;
};

function run(o: {
  ledger: LedgerPage[];
  live: Map<string, LiveCounter>;
  job?: Partial<RecomputeJob>;
  repairs?: ('repaired' | 'conflict')[];
  store?: Partial<RecomputeStore>;
  ownedSaves?: number;
  /** How long reading each ledger page takes. */
  pageMs?: number;
}) {
  let now = t0;
  const saves: { phase: string; status: string; eventsRead: number }[] = [];
  const repaired: string[] = [];
  const job: RecomputeJob = {
    jobId: 'j1',
    tenantId: 'acme',
    from: '2026-11-01T00:00:00.000Z',
    to: '2026-11-20T00:00:00.000Z',
    repair: false,
    status: 'queued',
    createdAt: new Date(t0).toISOString(),
    attempts: 1,
    leaseUntil: t0 + 60_000,
    progress: emptyProgress(),
    limits: [],
    drifts: [],
    ...o.job,
  };
  const repairs = [...(o.repairs ?? [])];
  const done = runRecompute(job, {
    store: {
      counters: async () => o.live,
      scanLedger: async (_q, onPage) => {
        for (const page of o.ledger) {
          now += o.pageMs ?? 0;
          await onPage(page);
        }
      },
      repair: async (drift) => {
        repaired.push(`${drift.ref.granularity} ${drift.ref.period}`);
        return repairs.shift() ?? 'repaired';
      },
      ...o.store,
    },
    jobs: {
      save: async (j: RecomputeJob) => {
        saves.push({ phase: j.progress.phase, status: j.status, eventsRead: j.progress.eventsRead });
        return saves.length <= (o.ownedSaves ?? Number.POSITIVE_INFINITY);
      },
    } as never,
    meters: async () => meters,
    now: () => now,
  });
  return { done, saves, repaired };
}

const page = (entries: UsageEvent[], extra: Partial<LedgerPage> = {}): LedgerPage => ({
  scanned: entries.length,
  entries: entries.map((e) => ({ ...e, status: 'counted' as const })),
  corrections: [],
  unfolded: [],
  ...extra,
});

describe('a recompute run', () => {
  it('finds no drift where the live counters hold what the ledger says, saving its progress phase by phase', async () => {
    const events = [event('a', 'orders', '2'), event('b', 'orders', '3'), event('c', 'seats', 'u1'), event('d', 'seats', 'u1')];
    const { done, saves } = run({ ledger: [page(events)], live: liveOf(events) });
    const job = await done;
    expect(job).toMatchObject({
      status: 'succeeded',
      drifts: [],
      startedAt: new Date(t0).toISOString(),
      finishedAt: new Date(t0).toISOString(),
    });
    expect(job.leaseUntil).toBeUndefined();
    expect(job.progress).toMatchObject({ phase: 'done', eventsRead: 4, itemsScanned: 4, countersCompared: 8, driftsFound: 0 });
    expect(saves.map((s) => s.phase)).toEqual(['reading counters', 'reading ledger', 'comparing', 'done']);
  });

  it('reports a counter that lost an event, and with `repair` repairs it, counting repairs and conflicts', async () => {
    const events = [event('a', 'orders', '2'), event('b', 'orders', '3')];
    const lost = liveOf(events.slice(0, 1));
    const { done, saves, repaired } = run({ ledger: [page(events)], live: lost, job: { repair: true }, repairs: ['repaired', 'conflict'] });
    const job = await done;
    expect(job.progress).toMatchObject({ driftsFound: 4, driftsRepaired: 3, repairConflicts: 1 });
    expect(repaired).toEqual(['day 2026-11-03', 'hour 2026-11-03T10', 'month 2026-11', 'quarter 2026-11-03T10:00']);
    expect(job.drifts[0]).toEqual({
      meter: 'orders',
      granularity: 'day',
      period: '2026-11-03',
      group: '',
      aggregation: 'SUM',
      expected: { value: '5', events: 2 },
      actual: { value: '2', events: 1 },
      repair: 'repaired',
    });
    expect(job.drifts[1]!.repair).toBe('conflict');
    expect(saves.map((s) => s.phase)).toContain('repairing');
  });

  it('reports without repairing when `repair` is off, naming the distinct values the markers lack or hold too many of', async () => {
    const events = [event('c', 'seats', 'u1'), event('d', 'seats', 'u2')];
    const live = liveOf([event('c', 'seats', 'u1'), event('x', 'seats', 'u3')]);
    const { done, repaired } = run({ ledger: [page(events)], live });
    const job = await done;
    expect(repaired).toEqual([]);
    expect(job.drifts).toHaveLength(4);
    expect(job.drifts[0]).toMatchObject({ aggregation: 'UNIQUE_COUNT', missingMarkers: ['u2'], extraMarkers: ['u3'] });
    expect(job.drifts[0]!.repair).toBeUndefined();
  });

  it('leaves out the counters a recent correction or a fold in progress moves: they are changing, not drifting', async () => {
    const counted = event('a', 'orders', '2');
    const corrected = event('b', 'orders', '3', '2026-11-04T08:00:00.000Z');
    const unfolded = event('c', 'orders', '7', '2026-11-05T09:00:00.000Z');
    const { done } = run({
      ledger: [page([counted], { corrections: [{ before: corrected, after: { ...corrected, value: '4' } }], unfolded: [unfolded] })],
      live: liveOf([counted]),
    });
    const job = await done;
    // b's correction and c's fold move the month counter a is in: it is changing; a's day, hour and quarter-hour are compared.
    expect(job.progress).toMatchObject({ countersCompared: 3, countersChanging: 1, driftsFound: 0 });
    expect(job.drifts).toEqual([]);
  });

  it("compares only the chosen meter's counters, and counts a quarantined or voided event nowhere", async () => {
    const orders = event('a', 'orders', '2');
    const ledger = page([orders, event('b', 'orders', '9'), event('c', 'seats', 'u1')]);
    ledger.entries[1] = { ...ledger.entries[1]!, status: 'quarantined', quarantineReason: 'value' };
    const voided = { ...event('d', 'orders', '5'), status: 'counted' as const, voidedAt: '2026-11-04T00:00:00.000Z' };
    const { done } = run({
      ledger: [{ ...ledger, entries: [...ledger.entries, voided] }],
      live: liveOf([orders]),
      job: { meter: 'orders' },
    });
    const job = await done;
    // Only a counts: b is quarantined, d voided, and c is another meter's.
    expect(job.progress).toMatchObject({ eventsRead: 1, countersCompared: 4, driftsFound: 0 });
  });

  it('saves its progress while reading the ledger at most once a second', async () => {
    const events = Array.from({ length: 5 }, (_, i) => event(`e${i}`, 'orders', '1'));
    const { done, saves } = run({ ledger: events.map((e) => page([e])), live: liveOf(events), pageMs: 600 });
    await done;
    const reading = saves.filter((s) => s.phase === 'reading ledger').map((s) => s.eventsRead);
    expect(reading).toEqual([0, 2, 4]);
  });
});

describe('a recompute run that cannot finish', () => {
  it(`fails a job claimed more than ${MAX_ATTEMPTS} times, telling the operator to narrow it, without reading anything`, async () => {
    const { done } = run({
      ledger: [],
      live: new Map(),
      job: { attempts: MAX_ATTEMPTS + 1 },
      store: {
        counters: async () => {
          throw new Error('read');
        },
      },
    });
    const job = await done;
    expect(job.status).toBe('failed');
    expect(job.error).toBe(
      `the job did not finish in ${MAX_ATTEMPTS} runs of the worker (15 minutes each): start it again for one meter or a shorter range`,
    );
    expect(job.finishedAt).toBe(new Date(t0).toISOString());
  });

  it("fails with the store's error when a read fails", async () => {
    const { done } = run({
      ledger: [],
      live: new Map(),
      store: {
        scanLedger: async () => {
          throw new Error('ProvisionedThroughputExceededException');
        },
      },
    });
    expect(await done).toMatchObject({ status: 'failed', error: 'ProvisionedThroughputExceededException' });
  });

  it('stops without another write once another run has claimed the job', async () => {
    const { done, saves } = run({ ledger: [page([event('a', 'orders', '2')])], live: new Map(), ownedSaves: 1 });
    const job = await done;
    expect(saves).toHaveLength(2);
    expect(job.status).toBe('running');
    expect(job.finishedAt).toBeUndefined();
  });
});
