import { BaseSequencer, type TestSpecification } from 'vitest/node';
import type { Tier } from './tiers.js';

/**
 * The run's order: tier by tier, the longest-running tiers first, and within a tier vitest's own order (failed first,
 * then longest first from the last run's timings, larger files first without them).
 * - The npm-start files run real `npm start`s for two minutes and more, most of it in child processes; the browser
 *   file drives Chromium for over a minute; the infra files run `cdk synth` and aws-cdk-lib. Started late, any of them
 *   would be the run's tail.
 * - The unit files take a second or two each: last, they fill the cores while the longest files finish.
 * Without timings (a fresh clone, as CI runs), vitest's order is by size alone, which interleaves the tiers: a run then
 * takes about a sixth longer.
 */
const TIER_ORDER: string[] = ['npm-start', 'browser', 'infra', 'stack', 'unit'] satisfies Tier[];

/** `files` tier by tier, in the order above; the order they came in holds within a tier (the sort is stable). */
export function byTier<T extends { project: { name: string } }>(files: T[]): T[] {
  const rank = (file: T) => {
    const i = TIER_ORDER.indexOf(file.project.name);
    return i < 0 ? TIER_ORDER.length : i;
  };
  return [...files].sort((a, b) => rank(a) - rank(b));
}

export default class TiersInOrder extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return byTier(await super.sort(files));
  }
}
