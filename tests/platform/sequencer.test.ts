import { describe, expect, it } from 'vitest';
import { byTier } from '../support/sequencer.js';

describe("the suite's order", () => {
  it('runs tier by tier, the longest tiers first and the unit files last, keeping the order within a tier', () => {
    const file = (name: string, project: string) => ({ name, project: { name: project } });
    const files = [
      file('u1', 'unit'),
      file('s1', 'stack'),
      file('i1', 'infra'),
      file('u2', 'unit'),
      file('b1', 'browser'),
      file('s2', 'stack'),
      file('n1', 'npm-start'),
    ];
    expect(byTier(files).map((f) => f.name)).toEqual(['n1', 'b1', 'i1', 's1', 's2', 'u1', 'u2']);
  });
});
