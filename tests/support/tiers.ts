import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/**
 * The suite's tiers, chosen by what a test file imports, so a new file lands in its tier without a list or a naming
 * rule: a file that imports `tests/dashboard/browser.ts` drives Chromium (`browser`), one that imports
 * `tests/support/stack.ts` runs on DynamoDB Local and the SQS emulator (`stack`), one that imports
 * `tests/support/npm-start.ts` runs the real `npm start` as a process (`npm-start`), one that imports
 * `tests/infra/synth.ts` or `tests/infra/cdk-cli.ts` or aws-cdk-lib itself synthesizes the CDK app, and one that
 * imports `infra/bundling.ts` bundles the functions as a deploy does (`infra`), any other runs alone in seconds (`unit`).
 * Imports are followed through the helpers under tests/, so a helper that starts a stack carries its importers along.
 */
export type Tier = 'unit' | 'infra' | 'npm-start' | 'stack' | 'browser';

const MARKERS: [Tier, string][] = [
  ['browser', 'tests/dashboard/browser.ts'],
  ['stack', 'tests/support/stack.ts'],
  ['npm-start', 'tests/support/npm-start.ts'],
  ['infra', 'tests/infra/synth.ts'],
  ['infra', 'tests/infra/cdk-cli.ts'],
  ['infra', 'infra/bundling.ts'],
];

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.{1,2}\/[^'"]+)['"]/g;

export function testTiers(root: string): Record<Tier, string[]> {
  const tiers: Record<Tier, string[]> = { unit: [], infra: [], 'npm-start': [], stack: [], browser: [] };
  const files = readdirSync(join(root, 'tests'), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.test.ts'))
    .map((file) => `tests/${file.split(sep).join('/')}`)
    .sort();
  for (const file of files) tiers[tierOf(root, file)].push(file);
  return tiers;
}

/** A test file, or a helper of it under tests/, that builds CDK constructs itself synthesizes: infra. */
const CDK = /\bfrom\s*['"]aws-cdk-lib[/'"]/;

export function tierOf(root: string, file: string): Tier {
  const reached = testFilesReached(root, file);
  const marked = MARKERS.find(([, marker]) => reached.has(marker))?.[0];
  if (marked) return marked;
  const synthesizes = [...reached].some((f) => f.startsWith('tests/') && CDK.test(readFileSync(join(root, f), 'utf8')));
  return synthesizes ? 'infra' : 'unit';
}

/**
 * `file`, the files under tests/ it imports, directly or through one another, and the other files of the repository
 * these import (paths from the root, with `/`).
 */
export function testFilesReached(root: string, file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  for (const [, specifier] of readFileSync(join(root, file), 'utf8').matchAll(IMPORT)) {
    const target = relative(root, resolve(root, dirname(file), specifier!.replace(/\.js$/, '.ts')))
      .split(sep)
      .join('/');
    if (!existsSync(join(root, target))) continue;
    if (target.startsWith('tests/')) testFilesReached(root, target, seen);
    else seen.add(target);
  }
  return seen;
}
