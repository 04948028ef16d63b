import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import astV8ToIstanbul from 'ast-v8-to-istanbul';
import libCoverage from 'istanbul-lib-coverage';
import { parseAstAsync } from 'vitest/node';
import type { ExternalScript } from './external-coverage.js';

/**
 * A worker thread of the coverage provider (tests/support/external-coverage-provider.ts): maps each script recorded in
 * the directory it is given back to the repository's files through the script's inline source map, as vitest maps its
 * own, and posts the istanbul coverage data of them all. Node runs it as it is (type stripping), outside vitest's module
 * runner, so it imports packages and types only.
 */
const dir = workerData as string;
const map = libCoverage.createCoverageMap({});
const asts = new Map<string, ReturnType<typeof parseAstAsync>>();
for (const name of readdirSync(dir)) {
  const scripts = JSON.parse(readFileSync(join(dir, name), 'utf8')) as ExternalScript[];
  for (const { url, source, functions } of scripts) {
    if (!asts.has(source)) asts.set(source, parseAstAsync(source));
    map.merge(await astV8ToIstanbul({ code: source, ast: asts.get(source)!, coverage: { url, functions } }));
  }
}
parentPort!.postMessage(Object.fromEntries(map.files().map((file) => [file, map.fileCoverageFor(file).toJSON()])));
