import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../../clients/node/src/index.js';

const UUIDV7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('UUIDv7 ids', () => {
  it('are version 7, unique, and sort in creation order', () => {
    const ids = Array.from({ length: 5000 }, () => uuidv7());
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(ids[0]).toMatch(UUIDV7);
  });

  it('never reuse random bytes, across the pool refills, whatever the clock does between ids', () => {
    // The last 62 bits are random only: two equal tails among these few thousand ids mean bytes were drawn twice.
    const tails = new Set<string>();
    fc.assert(
      // Each run makes `count` ids, the clock moving between them by the steps in turn (backwards too).
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.array(fc.integer({ min: -5, max: 3 }), { minLength: 1 }), (count, steps) => {
        let now = Date.now();
        const ids = Array.from({ length: count }, (_, i) => uuidv7((now += steps[i % steps.length]!)));
        for (const id of ids) {
          expect(id).toMatch(UUIDV7);
          const tail = id.slice(19);
          expect(tails.has(tail)).toBe(false);
          tails.add(tail);
        }
        expect([...ids].sort()).toEqual(ids);
      }),
      { numRuns: 40 },
    );
    // Many pools (256 ids each): refills happen inside the runs.
    expect(tails.size).toBeGreaterThan(20 * 256);
  });
});
