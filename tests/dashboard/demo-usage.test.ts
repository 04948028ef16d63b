import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { demoEvents, demoStart } from '../../local/demo-usage.js';
import { oldestOpenInstant } from '../../shared/kernel/periods.js';

const DAY = 86_400_000;

describe("npm start's demo usage", () => {
  it('has days of usage to show whenever it starts, all of it inside the open period and none in the future', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(2025, 0, 1), max: Date.UTC(2028, 11, 31) }), (now) => {
        const events = demoEvents(now);
        const times = events.map((e) => Date.parse(String(e.timestamp)));
        expect(now - demoStart(now)).toBeGreaterThanOrEqual(3 * DAY);
        // The default grace of 72 hours: ingest would refuse anything older.
        expect(Math.min(...times)).toBeGreaterThanOrEqual(oldestOpenInstant(now, 72));
        expect(Math.max(...times)).toBeLessThanOrEqual(now);
      }),
      { numRuns: 40 },
    );
  });

  it('tops up a later start with the hours since the last one: never an id twice, and the month whole', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(2025, 0, 1), max: Date.UTC(2028, 11, 31) }),
        fc.integer({ min: 0, max: 40 * DAY }),
        (first, gap) => {
          const second = first + gap;
          const earlier = demoEvents(first).map((e) => e.id);
          const topUp = demoEvents(second, 7, first).map((e) => e.id);
          expect(new Set([...earlier, ...topUp]).size).toBe(earlier.length + topUp.length);
          // Within one month, once it is past its first days, both starts draw the same events for an hour.
          if (demoStart(first) === demoStart(second))
            expect([...earlier, ...topUp].sort()).toEqual(
              demoEvents(second)
                .map((e) => e.id)
                .sort(),
            );
        },
      ),
      { numRuns: 40 },
    );
  });
});
