import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Dec } from '../../shared/kernel/decimal.js';
import {
  beatenKey,
  type CounterRef,
  counterKey,
  emptyFacts,
  foldUnits,
  markerKey,
  planFold,
  readingKey,
} from '../../shared/metering/aggregation.js';
import { eventKey, type UsageEvent } from '../../shared/metering/events.js';
import type { Aggregation } from '../../shared/metering/meters.js';
import type { LedgerEntry } from '../../shared/metering/ports.js';
import {
  CounterRebuild,
  compareCounters,
  type Drift,
  type LiveCounter,
  type RecomputeScope,
  readingCounter,
  readingMarker,
  recomputeScope,
  repairOf,
} from '../../shared/metering/recompute.js';

const meters: Record<string, Aggregation> = {
  s: 'SUM',
  c: 'COUNT',
  m: 'MAX',
  n: 'MIN',
  a: 'AVG',
  l: 'LATEST',
  w: 'TIME_WEIGHTED',
  u: 'UNIQUE_COUNT',
};
const scope: RecomputeScope = { tenantId: 't', from: Date.parse('2026-11-01T00:00:00Z'), to: Date.parse('2026-12-01T00:00:00Z') };

const eventArb = fc
  .record({
    id: fc.integer({ min: 0, max: 60 }),
    meter: fc.constantFrom(...Object.keys(meters)),
    day: fc.integer({ min: 1, max: 3 }),
    hour: fc.integer({ min: 0, max: 2 }),
    minute: fc.integer({ min: 0, max: 59 }),
    value: fc.integer({ min: 0, max: 40 }),
    group: fc.constantFrom('', 'region=eu', 'region=us'),
  })
  .map(({ id, meter, day, hour, minute, value, group }): UsageEvent => {
    const aggregation = meters[meter]!;
    const timestamp = `2026-11-0${day}T0${hour}:${String(minute).padStart(2, '0')}:00.000Z`;
    return {
      tenantId: 't',
      id: `${meter}-${id}`,
      meter,
      aggregation,
      timestamp,
      value: aggregation === 'COUNT' ? '1' : aggregation === 'UNIQUE_COUNT' ? `user-${value % 7}` : String(value / 4),
      groupKey: group,
      payloadHash: `${meter}-${id}`,
      receivedAt: timestamp,
    };
  });

/**
 * The consumer's fold against an in-memory DynamoDB: the first of each id claims its ledger entry, then each fold
 * unit commits whole or, when a condition fails, teaches the facts and is planned again, exactly as the store
 * adapter does.
 */
function fold(events: readonly UsageEvent[]) {
  const ledger = new Map<string, UsageEvent>();
  const markers = new Set<string>();
  const readings = new Map<string, string>();
  const counters = new Map<string, LiveCounter>();
  const facts = emptyFacts();
  const claimed: UsageEvent[] = [];
  for (const e of events) {
    if (ledger.has(eventKey(e))) continue;
    ledger.set(eventKey(e), e);
    claimed.push(e);
  }
  const pending = foldUnits('m', claimed).map((unit) => unit.events);
  while (pending.length > 0) {
    const unit = pending.shift()!;
    const plan = planFold(unit, facts);
    let failed = false;
    for (const m of plan.markers) if (markers.has(markerKey(m))) facts.seenMarkers.add(markerKey(m)), (failed = true);
    for (const d of plan.counters) {
      const stored = counters.get(counterKey(d));
      if (!d.candidate || stored?.value === undefined) continue;
      const beaten =
        d.aggregation === 'MAX'
          ? !new Dec(stored.value).lessThan(d.candidate.value)
          : d.aggregation === 'MIN'
            ? !new Dec(stored.value).greaterThan(d.candidate.value)
            : !(stored.latestAt! < d.candidate.at || (stored.latestAt === d.candidate.at && stored.latestId! < d.candidate.id));
      if (beaten) facts.beaten.add(beatenKey(d, d.candidate)), (failed = true);
    }
    if (failed) {
      pending.unshift(unit);
      continue;
    }
    for (const m of plan.markers) markers.add(markerKey(m));
    for (const r of plan.readings) readings.set(readingKey(r), counterKey(readingCounter(r)));
    for (const r of plan.readings) {
      const c = counters.get(counterKey(readingCounter(r))) ?? { ref: readingCounter(r), events: 0 };
      c.markers = [...(c.markers ?? []), readingMarker(r)];
      counters.set(counterKey(readingCounter(r)), c);
    }
    for (const d of plan.counters) {
      const c = counters.get(counterKey(d)) ?? { ref: refOf(d), events: 0 };
      c.events += d.events;
      if (d.add !== undefined) c.value = new Dec(c.value ?? 0).plus(d.add).toFixed();
      if (d.candidate) {
        c.value = d.candidate.value;
        if (d.aggregation === 'LATEST') Object.assign(c, { latestAt: d.candidate.at, latestId: d.candidate.id });
      }
      counters.set(counterKey(d), c);
    }
  }
  for (const m of markers) {
    const [partition, sort] = m.split('|') as [string, string];
    const key = [...counters.keys()].find((k) => sort.startsWith(`unique#${k.split('|')[1]}#`) && k.startsWith(`${partition}|`))!;
    const c = counters.get(key)!;
    (c.markers ??= []).push(sort.slice(`unique#${key.split('|')[1]}#`.length));
  }
  for (const c of counters.values()) c.markers?.sort();
  return { ledger, counters };
}

const refOf = (r: CounterRef): CounterRef => ({
  tenantId: r.tenantId,
  meter: r.meter,
  granularity: r.granularity,
  period: r.period,
  groupKey: r.groupKey,
});

function rebuild(ledger: Iterable<UsageEvent>, voided = new Set<string>()) {
  const r = new CounterRebuild(scope);
  for (const e of ledger) r.add({ ...e, status: 'counted', ...(voided.has(e.id) ? { voidedAt: e.timestamp } : {}) } as LedgerEntry);
  return r.expected();
}

/** Applies repairs to the in-memory counters as the adapter writes them. */
function applyRepair(counters: Map<string, LiveCounter>, drift: Drift) {
  const key = counterKey(drift.ref);
  const repair = repairOf(drift);
  const c = counters.get(key) ?? { ref: drift.ref, events: 0 };
  switch (repair.kind) {
    case 'remove':
      counters.delete(key);
      return;
    case 'set':
      counters.set(key, {
        ...c,
        value: repair.value,
        events: c.events + repair.events,
        ...(repair.latestAt ? { latestAt: repair.latestAt, latestId: repair.latestId } : {}),
      });
      return;
    case 'add': {
      const markers = new Set(c.markers ?? []);
      for (const m of repair.putMarkers) markers.add(m);
      for (const m of repair.removeMarkers) markers.delete(m);
      counters.set(key, {
        ...c,
        value: new Dec(c.value ?? 0).plus(repair.value).toFixed(),
        events: c.events + repair.events,
        ...(drift.aggregation === 'UNIQUE_COUNT' || drift.aggregation === 'TIME_WEIGHTED' ? { markers: [...markers].sort() } : {}),
      });
    }
  }
}

const aggregationOf = (meter: string) => meters[meter];

describe('recompute planner', () => {
  it('rebuilds from the ledger exactly the counters the consumer folds, for every aggregation', () => {
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 80 }), (events) => {
        const { ledger, counters } = fold(events);
        const expected = rebuild(ledger.values());
        const comparison = compareCounters(expected, counters, counters, new Set(), aggregationOf);
        expect(comparison.drifts).toEqual([]);
        expect(comparison.compared).toBe(new Set([...expected.keys(), ...counters.keys()]).size);
      }),
    );
  });

  it('finds exactly the counters corrupted, and its repairs make them equal to the ledger again', () => {
    fc.assert(
      fc.property(
        fc.array(eventArb, { minLength: 1, maxLength: 60 }),
        fc.array(fc.tuple(fc.nat(), fc.constantFrom('value', 'events', 'delete', 'marker')), { minLength: 1, maxLength: 5 }),
        (events, corruptions) => {
          const { ledger, counters } = fold(events);
          const live = new Map([...counters].map(([k, c]) => [k, { ...c, ...(c.markers ? { markers: [...c.markers] } : {}) }]));
          const keys = [...live.keys()].sort();
          const corrupted = new Set<string>();
          for (const [n, how] of corruptions) {
            const key = keys[n % keys.length]!;
            const c = live.get(key);
            if (!c) continue;
            if (how === 'delete') live.delete(key);
            else if (how === 'events') c.events += 3;
            else if (how === 'marker' && c.markers?.length) c.markers = c.markers.slice(1);
            else c.value = new Dec(c.value ?? 0).plus('1.5').toFixed();
            corrupted.add(key);
          }
          const expected = rebuild(ledger.values());
          const found = compareCounters(expected, live, live, new Set(), aggregationOf);
          expect(new Set(found.drifts.map((d) => counterKey(d.ref)))).toEqual(
            new Set([...corrupted].filter((k) => JSON.stringify(live.get(k)) !== JSON.stringify(counters.get(k)))),
          );
          for (const d of found.drifts) applyRepair(live, d);
          expect(compareCounters(expected, live, live, new Set(), aggregationOf).drifts).toEqual([]);
        },
      ),
    );
  });

  it('leaves out voided and quarantined events, counters that moved while the ledger was read, and corrected ones', () => {
    const e = (id: string, value: string): UsageEvent => ({
      tenantId: 't',
      id,
      meter: 's',
      aggregation: 'SUM',
      timestamp: '2026-11-02T01:00:00.000Z',
      value,
      groupKey: '',
      payloadHash: id,
      receivedAt: '2026-11-02T01:00:00.000Z',
    });
    const { counters } = fold([e('a', '2'), e('b', '3')]);
    const expected = rebuild([e('a', '2'), e('b', '3'), e('c', '4')], new Set(['c']));
    expect(compareCounters(expected, counters, counters, new Set(), aggregationOf).drifts).toEqual([]);
    const key = (g: string) => [...counters.keys()].find((k) => k.includes(`|${g}#`))!;
    const moved = new Map(counters);
    for (const g of ['hour', 'quarter']) moved.set(key(g), { ...counters.get(key(g))!, events: 3, value: '9' });
    const r = compareCounters(rebuild([e('a', '2')]), counters, moved, new Set([key('day')]), aggregationOf);
    expect(r.changing.map((c) => c.granularity).sort()).toEqual(['day', 'hour', 'quarter']);
    expect(r.drifts.map((d) => d.ref.granularity)).toEqual(['month']);
  });

  it('covers what the ledger still holds: the range starts no earlier than its retention allows', () => {
    const now = Date.parse('2026-11-30T18:20:00Z');
    const { scope: s, limits } = recomputeScope('t', { from: Date.parse('2026-10-01T00:00:00Z') }, now, 40);
    expect(new Date(s.from).toISOString()).toBe('2026-10-22T19:00:00.000Z');
    expect(new Date(s.to).toISOString()).toBe('2026-11-30T19:00:00.000Z');
    expect(limits).toHaveLength(1);
    expect(recomputeScope('t', { from: Date.parse('2026-11-01T00:00:00Z') }, now, 40).limits).toEqual([]);
  });
});
