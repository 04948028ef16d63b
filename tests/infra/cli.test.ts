import { describe, expect, it } from 'vitest';
import { cdkSynth } from './cdk-cli.js';

describe('cdk synth as an operator runs it', () => {
  const cases = (['prod', 'dev'] as const).flatMap((stage) => [undefined, 'eu-west-1'].map((region) => ({ stage, region })));

  it('exits 0 with no finding for both stages, with no region configured and with one set', async () => {
    // Concurrently: each run (bundling every function, cdk-nag, CloudFormation's template checks) is about 20 s of
    // mostly single-threaded work, so the four overlap on a machine with cores to spare; a busy one takes minutes.
    const results = await Promise.all(cases.map(({ stage, region }) => cdkSynth(stage, region)));
    for (const [i, { output, violations, template }] of results.entries()) {
      const label = `${cases[i]!.stage}, region ${cases[i]!.region ?? 'none'}`;
      expect(violations, label).toEqual([]);
      expect(output, label).not.toMatch(/^\s*(ERROR|WARN(ING)?)\b|\[Warning at /m);
      expect(Object.keys(template.Resources).length, label).toBeGreaterThan(0);
    }
  }, 1_200_000);
});
