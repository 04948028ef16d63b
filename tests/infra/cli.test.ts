import { describe, expect, it } from 'vitest';
import { functionSpecs } from '../../infra/catalog.js';
import { cdkSynth } from './cdk-cli.js';

describe('cdk synth as an operator runs it', () => {
  // Each stage once and each way of resolving the region once: a finding that names the region is the same for both
  // stages, and the in-process nag test checks both stages and prod in a third region.
  const cases = [
    { stage: 'prod', region: undefined },
    { stage: 'dev', region: 'eu-west-1' },
  ] as const;

  it('exits 0 with no finding for both stages, with no region configured and with one set', async () => {
    // Concurrently: each run (bundling every function, cdk-nag, CloudFormation's template checks) is about 20 s of
    // mostly single-threaded work, so the two overlap on a machine with cores to spare.
    const results = await Promise.all(cases.map(({ stage, region }) => cdkSynth(stage, region)));
    for (const [i, { output, violations, template }] of results.entries()) {
      const label = `${cases[i]!.stage}, region ${cases[i]!.region ?? 'none'}`;
      expect(violations, label).toEqual([]);
      expect(output, label).not.toMatch(/^\s*\[?(ERROR|WARN(ING)?)\b|\[Warning at /m);
      expect(Object.keys(template.Resources).length, label).toBeGreaterThan(0);
      // Every catalog function is bundled with the deployment settings (tests/infra/bundling.test.ts checks what).
      for (const spec of Object.values(functionSpecs)) {
        const files = [...results[i]!.bundles].find(([description]) => description.endsWith(`(${spec.entry})`))?.[1];
        expect(files, `${label}: ${spec.entry}`).toEqual(expect.arrayContaining(['index.mjs', 'index.mjs.map']));
      }
    }
  }, 1_200_000);
});
