import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  beatenKey,
  emptyFacts,
  foldUnits,
  halves,
  MAX_ITEMS_PER_PLAN,
  markerKey,
  planFold,
  writesOf,
} from '../../shared/metering/aggregation.js';
import { eventKey, type UsageEvent } from '../../shared/metering/events.js';
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

describe('planFold', () => {
  it('folds a batch into quarter-hour, hour, day and month counters for the total and the group', () => {
    const plan = planFold(
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
    expect(plan!.counters).toHaveLength(8);
  });

  it('keeps the largest MAX and the newest LATEST candidate, and drops beaten ones', () => {
    const max = planFold([event('a', 'MAX', '7'), event('b', 'MAX', '12'), event('c', 'MAX', '3')], emptyFacts());
    expect(max!.counters[0]!.candidate).toMatchObject({ value: '12', id: 'b' });
    const latest = [event('a', 'LATEST', '40', '2026-11-23T10:00:00.000Z'), event('b', 'LATEST', '45', '2026-11-23T10:30:00.000Z')];
    const plan = planFold(latest, emptyFacts());
    const month = plan!.counters.find((c) => c.granularity === 'month')!;
    expect(month.candidate).toMatchObject({ value: '45' });
    const facts = emptyFacts();
    facts.beaten.add(beatenKey(month, month.candidate!));
    expect(planFold(latest, facts).counters.find((c) => c.granularity === 'month')!.candidate).toBeUndefined();
  });

  it('counts a distinct value once per period and not at all once seen', () => {
    const events = [event('a', 'UNIQUE_COUNT', 'alice'), event('b', 'UNIQUE_COUNT', 'alice'), event('c', 'UNIQUE_COUNT', 'bob')];
    const plan = planFold(events, emptyFacts());
    expect(plan!.counters.every((c) => c.add === '2' && c.events === 3)).toBe(true);
    expect(plan!.markers).toHaveLength(8);
    const facts = emptyFacts();
    for (const m of plan!.markers.filter((m) => m.value === 'alice')) facts.seenMarkers.add(markerKey(m));
    const again = planFold(events, facts);
    expect(again!.counters.every((c) => c.add === '1')).toBe(true);
  });

  it('splits a message into units from its content alone: within a transaction, every event once, one partition each, adding up exactly', () => {
    const arbitraryEvent = fc.record({
      id: fc.integer({ min: 0, max: 400 }).map(String),
      aggregation: fc.constantFrom<Aggregation>('SUM', 'COUNT', 'UNIQUE_COUNT'),
      value: fc.integer({ min: 0, max: 10 ** 6 }).map((n) => (n / 1000).toString()),
      hour: fc.integer({ min: 0, max: 47 }),
      group: fc.constantFrom('', 'region=eu', 'region=us'),
    });
    fc.assert(
      fc.property(fc.array(arbitraryEvent, { maxLength: 400 }), (raw) => {
        const byId = new Map<string, UsageEvent>();
        for (const r of raw) {
          const e = event(
            r.id,
            r.aggregation,
            r.aggregation === 'UNIQUE_COUNT' ? `u${r.value}` : r.value,
            new Date(Date.UTC(2026, 10, 22, r.hour)).toISOString(),
            r.group,
          );
          if (!byId.has(eventKey(e))) byId.set(eventKey(e), e);
        }
        const events = [...byId.values()];
        const units = foldUnits('m', events);
        // The same message gives the same units under the same receipts, whatever order its events come in.
        expect(foldUnits('m', [...events].reverse())).toEqual(units);
        expect(new Set(units.map((u) => u.receipt)).size).toBe(units.length);
        const planned = units.flatMap((u) => u.events.map(eventKey));
        expect(planned.sort()).toEqual(events.map(eventKey).sort());
        for (const u of units) {
          expect(new Set(u.events.map((e) => e.meter)).size).toBe(1);
          // Its receipt and every write it could need fit one transaction, and so do its halves'.
          expect(1 + new Set(u.events.flatMap((e) => writesOf(e))).size).toBeLessThanOrEqual(MAX_ITEMS_PER_PLAN);
          if (u.events.length > 1) {
            const [a, b] = halves(u);
            expect([...a.events, ...b.events]).toEqual(u.events);
            expect([a.receipt, b.receipt]).toEqual([`${u.receipt}.0`, `${u.receipt}.1`]);
          }
        }
        // Counters touched by several units add up to the whole: no amount is lost between them.
        let monthCounts = 0;
        for (const u of units)
          for (const c of planFold(u.events, emptyFacts()).counters)
            if (c.aggregation === 'COUNT' && c.granularity === 'month' && c.groupKey === '') monthCounts += Number(c.add);
        expect(monthCounts).toBe(events.filter((e) => e.aggregation === 'COUNT').length);
      }),
      { numRuns: 60 },
    );
  });
});
