import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  beatenKey,
  counterKey,
  emptyFacts,
  eventKey,
  MAX_ITEMS_PER_PLAN,
  markerKey,
  planFolds,
} from '../../shared/metering/aggregation.js';
import type { UsageEvent } from '../../shared/metering/events.js';
import type { Aggregation } from '../../shared/metering/meters.js';

const event = (id: string, aggregation: Aggregation, value: string, timestamp = '2026-11-23T10:15:00.000Z', groupKey = ''): UsageEvent => ({
  tenantId: 'acme',
  id,
  meter: aggregation.toLowerCase(),
  aggregation,
  value,
  timestamp,
  groupKey,
  payloadHash: id,
  receivedAt: timestamp,
});

const itemsIn = (plan: ReturnType<typeof planFolds>[number]) => plan.events.length + plan.counters.length + plan.markers.length;

describe('planFolds', () => {
  it('folds a batch into hour, day and month counters for the total and the group', () => {
    const [plan] = planFolds(
      [event('a', 'SUM', '1.5', undefined, 'model=large'), event('b', 'SUM', '2.25', undefined, 'model=large')],
      emptyFacts(),
    );
    expect(plan!.counters.map((c) => [c.granularity, c.groupKey, c.period, c.add, c.events])).toEqual(
      expect.arrayContaining([
        ['hour', '', '2026-11-23T10', '3.75', 2],
        ['day', '', '2026-11-23', '3.75', 2],
        ['month', '', '2026-11', '3.75', 2],
        ['hour', 'model=large', '2026-11-23T10', '3.75', 2],
      ]),
    );
    expect(plan!.counters).toHaveLength(6);
  });

  it('keeps the largest MAX and the newest LATEST candidate, and drops beaten ones', () => {
    const [max] = planFolds([event('a', 'MAX', '7'), event('b', 'MAX', '12'), event('c', 'MAX', '3')], emptyFacts());
    expect(max!.counters[0]!.candidate).toMatchObject({ value: '12', id: 'b' });
    const latest = [event('a', 'LATEST', '40', '2026-11-23T10:00:00.000Z'), event('b', 'LATEST', '45', '2026-11-23T10:30:00.000Z')];
    const [plan] = planFolds(latest, emptyFacts());
    const month = plan!.counters.find((c) => c.granularity === 'month')!;
    expect(month.candidate).toMatchObject({ value: '45' });
    const facts = emptyFacts();
    facts.beaten.add(beatenKey(month, month.candidate!));
    expect(planFolds(latest, facts)[0]!.counters.find((c) => c.granularity === 'month')!.candidate).toBeUndefined();
  });

  it('counts a distinct value once per period and not at all once seen', () => {
    const events = [event('a', 'UNIQUE_COUNT', 'alice'), event('b', 'UNIQUE_COUNT', 'alice'), event('c', 'UNIQUE_COUNT', 'bob')];
    const [plan] = planFolds(events, emptyFacts());
    expect(plan!.counters.every((c) => c.add === '2' && c.events === 3)).toBe(true);
    expect(plan!.markers).toHaveLength(6);
    const facts = emptyFacts();
    for (const m of plan!.markers.filter((m) => m.value === 'alice')) facts.seenMarkers.add(markerKey(m));
    const [again] = planFolds(events, facts);
    expect(again!.counters.every((c) => c.add === '1')).toBe(true);
  });

  it('leaves out events the ledger already holds', () => {
    const facts = emptyFacts();
    facts.duplicates.add(eventKey({ tenantId: 'acme', id: 'a' }));
    const plans = planFolds([event('a', 'COUNT', '1'), event('b', 'COUNT', '1')], facts);
    expect(plans.flatMap((p) => p.events.map((e) => e.id))).toEqual(['b']);
  });

  it('never exceeds a transaction, never loses or repeats an event, and adds up exactly', () => {
    const arbitraryEvent = fc.record({
      id: fc.integer({ min: 0, max: 400 }).map(String),
      aggregation: fc.constantFrom<Aggregation>('SUM', 'COUNT', 'UNIQUE_COUNT'),
      value: fc.integer({ min: 0, max: 10 ** 6 }).map((n) => (n / 1000).toString()),
      hour: fc.integer({ min: 0, max: 47 }),
      group: fc.constantFrom('', 'region=eu', 'region=us'),
    });
    fc.assert(
      fc.property(fc.array(arbitraryEvent, { maxLength: 400 }), (raw) => {
        const events = raw.map((r) =>
          event(
            r.id,
            r.aggregation,
            r.aggregation === 'UNIQUE_COUNT' ? `u${r.value}` : r.value,
            new Date(Date.UTC(2026, 10, 22, r.hour)).toISOString(),
            r.group,
          ),
        );
        const plans = planFolds(events, emptyFacts());
        const planned = plans.flatMap((p) => p.events.map(eventKey));
        expect(new Set(planned).size).toBe(planned.length);
        expect(new Set(planned)).toEqual(new Set(events.map(eventKey)));
        for (const p of plans) expect(itemsIn(p)).toBeLessThanOrEqual(MAX_ITEMS_PER_PLAN);
        // Counters touched by several plans add up to the whole: no amount is lost between plans.
        const firstById = new Map(events.map((e) => [eventKey(e), e] as const).reverse());
        const sums = new Map<string, number>();
        for (const p of plans)
          for (const c of p.counters)
            if (c.aggregation === 'COUNT') sums.set(counterKey(c), (sums.get(counterKey(c)) ?? 0) + Number(c.add));
        const counts = [...firstById.values()].filter((e) => e.aggregation === 'COUNT').length;
        const monthTotals = [...sums.entries()].filter(([k]) => k.includes('|month##')).reduce((s, [, v]) => s + v, 0);
        expect(monthTotals).toBe(counts);
      }),
      { numRuns: 60 },
    );
  });
});
