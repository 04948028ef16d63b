import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { V8CoverageProvider } from '@vitest/coverage-v8/dist/provider.js';
import astV8ToIstanbul from 'ast-v8-to-istanbul';
import { parseAstAsync, type ReportContext, type Vitest } from 'vitest/node';
import { EXTERNAL_COVERAGE_VARIABLE, type ExternalScript } from './external-coverage.js';

/**
 * The V8 provider, which also counts the scripts the tests recorded from outside vitest's workers
 * (tests/support/external-coverage.ts): each is mapped back to the repository's files through its inline source map,
 * as vitest maps its own. A file takes the figures of whichever ran more of its statements, the workers or the processes
 * outside them (the dashboard's pages, the Lambda extension), rather than the zeros vitest gives a file no worker loaded.
 */
/** istanbul-lib-coverage's map, as the V8 provider makes it (the library ships no types). */
type CoverageMap = ReturnType<V8CoverageProvider['createCoverageMap']>;

export class ExternalCoverageProvider extends V8CoverageProvider {
  private externalDir = '';

  override initialize(ctx: Vitest): void {
    super.initialize(ctx);
    // Inside the directory vitest empties when a run starts and removes once it has reported; the workers inherit it.
    this.externalDir = join(this.coverageFilesDirectory, 'external');
    process.env[EXTERNAL_COVERAGE_VARIABLE] = this.externalDir;
  }

  override async generateCoverage(context: ReportContext): Promise<CoverageMap> {
    const external = await this.externalCoverage();
    const map = await super.generateCoverage(context);
    // The two are mapped from different builds of a file, whose statements need not line up one to one, so they are
    // not added together: a file takes the figures of whichever ran more of it (a worker that only read one of the
    // Lambda extension's constants does not hide the extension's own processes).
    const ran = (m: CoverageMap, file: string) => Object.values<number>(m.fileCoverageFor(file).s).filter((hits) => hits > 0).length;
    for (const file of external.files()) {
      if (!map.data[file] || ran(external, file) > ran(map, file)) map.data[file] = external.fileCoverageFor(file);
    }
    return map;
  }

  private async externalCoverage(): Promise<CoverageMap> {
    const map = this.createCoverageMap();
    let names: string[];
    try {
      names = readdirSync(this.externalDir);
    } catch {
      return map;
    }
    const asts = new Map<string, ReturnType<typeof parseAstAsync>>();
    for (const name of names) {
      const scripts = JSON.parse(readFileSync(join(this.externalDir, name), 'utf8')) as ExternalScript[];
      for (const { url, source, functions } of scripts) {
        if (!asts.has(source)) asts.set(source, parseAstAsync(source));
        const converted = await astV8ToIstanbul({ code: source, ast: asts.get(source)!, coverage: { url, functions } });
        map.merge(converted);
      }
    }
    map.filter((file: string) => this.isIncluded(file));
    return map;
  }
}
