import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The run's order: the npm-start files first, then vitest's own (failed first, then longest first from the last run's
 * timings, larger files first without them). Each npm-start file runs real `npm start`s for two minutes and more, most
 * of it in its child processes: started last, one of them would be the whole run's tail on a fresh clone, which has no
 * timings yet.
 */
export default class NpmStartFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const first = (spec: TestSpecification) => spec.project.name === 'npm-start';
    return [...sorted.filter(first), ...sorted.filter((spec) => !first(spec))];
  }
}
