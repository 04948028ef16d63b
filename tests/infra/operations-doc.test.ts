import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stageConfig } from '../../infra/stage.js';

const doc = readFileSync(resolve(import.meta.dirname, '../../docs/operations.md'), 'utf8');
/** Lambda always keeps this much of an account's concurrency unreserved. */
const unreserved = 100;

describe('docs/operations.md', () => {
  const reserved = stageConfig('prod').reservedConcurrency;
  const total = Object.values(reserved).reduce((a, b) => a + b, 0);

  it('lists every prod reservation of infra/stage.ts in its Concurrency table, and nothing else', () => {
    const section = doc.slice(doc.indexOf('## Concurrency'), doc.indexOf('\n## ', doc.indexOf('## Concurrency') + 1));
    const rows = [...section.matchAll(/^\| ([a-z][\w-]*(?:, [a-z][\w-]*)*) +\| (\d+)(?: each)? +\|/gm)];
    const documented = Object.fromEntries(rows.flatMap((row) => row[1]!.split(', ').map((name) => [name, Number(row[2])])));
    expect(documented).toEqual(reserved);
  });

  it(`gives one total everywhere, and the account quota it needs (${unreserved} more)`, () => {
    const totals = [...doc.matchAll(/(\d+)\s+(?:in\s+all|concurrent\s+executions)/g)].map((m) => Number(m[1]));
    const quotas = [...doc.matchAll(/must\s+be\s+at\s+least\s+(\d+)/g)].map((m) => Number(m[1]));
    expect(totals.length).toBeGreaterThanOrEqual(3);
    expect(quotas.length).toBeGreaterThanOrEqual(2);
    for (const t of totals) expect(t).toBe(total);
    for (const q of quotas) expect(q).toBe(total + unreserved);
  });
});
