import { createHash } from 'node:crypto';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The run's order: the npm-start files first, then vitest's own (failed first, then longest first from the last run's
 * timings, larger files first without them). Each npm-start file runs real `npm start`s for two minutes and more, most
 * of it in its child processes: started last, one of them would be the whole run's tail on a fresh clone, which has no
 * timings yet. With --sequence.shuffle, an order drawn from the run's seed instead (vitest keeps a configured sequencer
 * when asked to shuffle).
 */
export default class NpmStartFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const { shuffle, seed } = this.ctx.config.sequence;
    if (shuffle) {
      const key = (spec: TestSpecification) => createHash('sha1').update(`${seed}:${spec.moduleId}`).digest('hex');
      return [...files].sort((a, b) => key(a).localeCompare(key(b)));
    }
    const sorted = await super.sort(files);
    const first = (spec: TestSpecification) => spec.project.name === 'npm-start';
    return [...sorted.filter(first), ...sorted.filter((spec) => !first(spec))];
  }
}
