import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { V8CoverageProvider } from '@vitest/coverage-v8/dist/provider.js';
import type { CoverageMap, CoverageMapData } from 'istanbul-lib-coverage';
import type { ReportContext, Vitest } from 'vitest/node';
import { EXTERNAL_COVERAGE_VARIABLE } from './external-coverage.js';

/**
 * The V8 provider, which also counts the scripts the tests recorded from outside vitest's workers
 * (tests/support/external-coverage.ts): each is mapped back to the repository's files through its inline source map,
 * as vitest maps its own. A file takes the figures of whichever ran more of its statements, the workers or the processes
 * outside them (the dashboard's pages, the Lambda extension), rather than the zeros vitest gives a file no worker loaded.
 */
export class ExternalCoverageProvider extends V8CoverageProvider {
  private externalDir = '';

  override initialize(ctx: Vitest): void {
    super.initialize(ctx);
    // Inside the directory vitest empties when a run starts and removes once it has reported; the workers inherit it.
    this.externalDir = join(this.coverageFilesDirectory, 'external');
    process.env[EXTERNAL_COVERAGE_VARIABLE] = this.externalDir;
  }

  override async generateCoverage(context: ReportContext): Promise<CoverageMap> {
    // Mapped in a thread of its own while vitest maps its workers' counts here: the run's last seconds have a core to spare.
    const mapped = this.externalCoverage();
    const map = await super.generateCoverage(context);
    const external = await mapped;
    // The two are mapped from different builds of a file, whose statements need not line up one to one, so they are
    // not added together: a file takes the figures of whichever ran more of it (a worker that only read one of the
    // Lambda extension's constants does not hide the extension's own processes).
    const ran = (m: CoverageMap, file: string) => Object.values(m.fileCoverageFor(file).s).filter((hits) => hits > 0).length;
    for (const file of external.files()) {
      if (!map.data[file] || ran(external, file) > ran(map, file)) map.data[file] = external.fileCoverageFor(file);
    }
    return map;
  }

  private async externalCoverage(): Promise<CoverageMap> {
    const map = this.createCoverageMap();
    if (!existsSync(this.externalDir)) return map;
    const mapper = new Worker(new URL('./external-coverage-mapper.ts', import.meta.url), { workerData: this.externalDir });
    const [data] = (await once(mapper, 'message')) as [CoverageMapData];
    map.merge(data);
    map.filter((file: string) => this.isIncluded(file));
    return map;
  }
}
