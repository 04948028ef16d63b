import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mergeScriptCovs, type ScriptCov } from '@bcoe/v8-coverage';
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
    // Every tab and process records the same few scripts again: their counts are added up per script first, as vitest
    // adds up its workers', so each script is mapped back to the repository's files once rather than once per record.
    const scripts = new Map<string, { url: string; source: string; runs: ScriptCov[] }>();
    for (const name of names) {
      for (const { url, source, functions } of JSON.parse(readFileSync(join(this.externalDir, name), 'utf8')) as ExternalScript[]) {
        const key = `${url}\n${source}`;
        if (!scripts.has(key)) scripts.set(key, { url, source, runs: [] });
        scripts.get(key)!.runs.push({ scriptId: '0', url, functions });
      }
    }
    for (const { url, source, runs } of scripts.values()) {
      const { functions } = mergeScriptCovs(runs)!;
      map.merge(await astV8ToIstanbul({ code: source, ast: await parseAstAsync(source), coverage: { url, functions } }));
    }
    map.filter((file: string) => this.isIncluded(file));
    return map;
  }
}
