import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Profiler } from 'node:inspector';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where the tests leave the V8 coverage of code that runs outside vitest's workers (Chromium's pages, child Node
 * processes), or undefined when the run measures no coverage. The coverage provider (tests/support/coverage-provider.ts)
 * sets it before the workers start and reads it when it reports.
 */
export const EXTERNAL_COVERAGE_VARIABLE = 'METERLINE_EXTERNAL_COVERAGE';
export const EXTERNAL_COVERAGE_DIR: string | undefined = process.env[EXTERNAL_COVERAGE_VARIABLE];

/**
 * One script's V8 coverage with the text it ran. `url` is the file URL the script stands for: its inline source map's
 * sources are read relative to it, and lead back to the repository's files.
 */
export interface ExternalScript {
  url: string;
  source: string;
  functions: Profiler.FunctionCoverage[];
}

/** Keeps `scripts` for the provider; nothing when the run measures no coverage. */
export function recordExternalCoverage(scripts: ExternalScript[]): void {
  if (!EXTERNAL_COVERAGE_DIR || scripts.length === 0) return;
  mkdirSync(EXTERNAL_COVERAGE_DIR, { recursive: true });
  writeFileSync(join(EXTERNAL_COVERAGE_DIR, `${randomUUID()}.json`), JSON.stringify(scripts));
}

/**
 * Keeps what Node wrote into `v8Dir` as NODE_V8_COVERAGE for the processes that ran with it and have exited, for the
 * scripts in files that still exist (Node's report names a script but holds none of its text).
 */
export function recordNodeCoverage(v8Dir: string): void {
  if (!existsSync(v8Dir)) return;
  const scripts: ExternalScript[] = [];
  for (const name of readdirSync(v8Dir).filter((file) => file.endsWith('.json'))) {
    const { result } = JSON.parse(readFileSync(join(v8Dir, name), 'utf8')) as Profiler.TakePreciseCoverageReturnType;
    for (const { url, functions } of result) {
      if (!url.startsWith('file://') || url.includes('/node_modules/')) continue;
      const path = fileURLToPath(url);
      if (existsSync(path)) scripts.push({ url, source: readFileSync(path, 'utf8'), functions });
    }
  }
  recordExternalCoverage(scripts);
}
