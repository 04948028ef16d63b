import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The layering rule, checked over every import in the repository (a small scanner over TypeScript's own
 * import pre-processor, so dynamic `import()` and `export ... from` count too):
 *
 * - a context's own files (shared/<context>/*.ts outside adapters/) import no SDK, no Lambda runtime
 *   library and no adapter, nor the platform or the composition root: only the kernel, other contexts'
 *   public files, zod and node: built-ins;
 * - adapters are imported only by the composition root (shared/composition/), functions/<name>/handler.ts,
 *   their own context's adapters, and the composition roots of tests, local/, bench/ and scripts/;
 * - the composition root is imported only by handler.ts files and those same outer roots;
 * - contexts stand in one order (CONTEXT_ORDER, lowest first), and a context's files, adapters included, import
 *   only contexts below their own: billing may use metering's counters, never the other way round;
 * - platform/ and kernel/ import no context, and the kernel nothing but itself: every arrow points down.
 */
const ROOT = join(import.meta.dirname, '..', '..');
const SCANNED = ['functions', 'shared', 'infra', 'local', 'scripts', 'bench', 'tests'];
/**
 * The bounded contexts, lowest first. `events` holds the domain events every context above it announces; `stripe` sits
 * on top because it mirrors billing and reports metering's counters.
 */
const CONTEXT_ORDER = ['kernel', 'events', 'metering', 'tenancy', 'billing', 'alerts', 'stripe'];
const CONTEXTS = CONTEXT_ORDER;
const RUNTIME_LIBRARIES = [/^@aws-sdk\//, /^stripe$/, /^aws-lambda$/, /^@aws-lambda-powertools\//, /^@middy\//];
const OUTER_ROOTS = /^(tests|local|bench|scripts)\//;

interface Import {
  from: string;
  /** Repository path of a relative import (`.ts`), or the package specifier. */
  to: string;
}

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sources(path);
    return /\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

function importsOf(file: string): Import[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(join(ROOT, file), 'utf8'), true, true);
  return importedFiles.map(({ fileName }) => ({
    from: file,
    to: fileName.startsWith('.') ? relative(ROOT, normalize(join(ROOT, dirname(file), fileName))).replace(/\.js$/, '.ts') : fileName,
  }));
}

/** `shared/<context>/...` → the context, for files of the shared tree. */
const contextOf = (path: string) => /^shared\/([^/]+)\//.exec(path)?.[1];
const isAdapter = (path: string) => /^shared\/[^/]+\/adapters\//.test(path);
const isHandler = (path: string) => /^functions\/[^/]+\/handler\.ts$/.test(path);

/** Every import that breaks the rule, as "from → to: why". */
function violations(imports: readonly Import[]): string[] {
  const found: string[] = [];
  const flag = (i: Import, why: string) => found.push(`${i.from} → ${i.to}: ${why}`);
  for (const i of imports) {
    const fromContext = contextOf(i.from);
    const toContext = contextOf(i.to);
    const domain = fromContext !== undefined && CONTEXTS.includes(fromContext) && !isAdapter(i.from);
    if (domain && RUNTIME_LIBRARIES.some((library) => library.test(i.to)))
      flag(i, 'a context file imports a runtime library; only its adapters may');
    if (domain && (toContext === 'platform' || toContext === 'composition')) flag(i, `a context file imports shared/${toContext}/`);
    if (isAdapter(i.to)) {
      const allowed =
        contextOf(i.from) === 'composition' ||
        isHandler(i.from) ||
        OUTER_ROOTS.test(i.from) ||
        (isAdapter(i.from) && fromContext === toContext);
      if (!allowed) flag(i, 'only the composition root, handler.ts files and their own context’s adapters import an adapter');
    }
    if (toContext === 'composition' && fromContext !== 'composition' && !isHandler(i.from) && !OUTER_ROOTS.test(i.from)) {
      flag(i, 'only handler.ts files import the composition root');
    }
    if (
      (fromContext === 'platform' || fromContext === 'kernel') &&
      toContext !== undefined &&
      toContext !== 'platform' &&
      toContext !== 'kernel'
    ) {
      flag(i, `shared/${fromContext}/ imports a context: arrows point down`);
    }
    if (fromContext === 'kernel' && toContext === 'platform') flag(i, 'the kernel imports the platform: arrows point down');
    const fromRank = CONTEXT_ORDER.indexOf(fromContext ?? '');
    const toRank = CONTEXT_ORDER.indexOf(toContext ?? '');
    if (fromRank >= 0 && toRank > fromRank) flag(i, `shared/${fromContext}/ imports shared/${toContext}/, a context above it`);
  }
  return found;
}

describe('architecture boundaries', () => {
  const imports = SCANNED.flatMap(sources).flatMap(importsOf);

  it('scans the tree', () => {
    expect(imports.length).toBeGreaterThan(500);
  });

  it('every import follows the layering rule', () => {
    expect(violations(imports)).toEqual([]);
  });

  it('catches each kind of violation', () => {
    const planted: Import[] = [
      { from: 'shared/billing/pricing.ts', to: '@aws-sdk/lib-dynamodb' },
      { from: 'shared/stripe/products.ts', to: 'stripe' },
      { from: 'shared/metering/events.ts', to: 'shared/metering/adapters/usage-writer.ts' },
      { from: 'shared/alerts/rules.ts', to: 'shared/platform/observability.ts' },
      { from: 'functions/usage/usage.ts', to: 'shared/metering/adapters/usage-writer.ts' },
      { from: 'functions/usage/usage.ts', to: 'shared/composition/metering.ts' },
      { from: 'shared/kernel/money.ts', to: 'shared/billing/plans.ts' },
      { from: 'shared/platform/http.ts', to: 'shared/tenancy/access.ts' },
      { from: 'shared/stripe/adapters/stripe-store.ts', to: 'shared/billing/adapters/billing-store.ts' },
      { from: 'shared/billing/invoices.ts', to: 'shared/alerts/rules.ts' },
      { from: 'shared/metering/adapters/usage-writer.ts', to: 'shared/billing/plans.ts' },
    ];
    for (const i of planted) expect(violations([i]), `${i.from} → ${i.to}`).not.toEqual([]);
    expect(violations([{ from: 'shared/billing/invoices.ts', to: 'shared/alerts/rules.ts' }])).toEqual([
      'shared/billing/invoices.ts → shared/alerts/rules.ts: shared/billing/ imports shared/alerts/, a context above it',
    ]);
    expect(
      violations([
        { from: 'functions/usage/handler.ts', to: 'shared/metering/adapters/usage-writer.ts' },
        { from: 'shared/composition/metering.ts', to: 'shared/metering/adapters/usage-writer.ts' },
        { from: 'shared/metering/adapters/usage-queue.ts', to: 'shared/metering/adapters/usage-writer.ts' },
        { from: 'tests/support/stack.ts', to: 'shared/composition/metering.ts' },
        { from: 'shared/billing/pricing.ts', to: 'shared/kernel/money.ts' },
        { from: 'shared/stripe/products.ts', to: 'shared/billing/plans.ts' },
        { from: 'shared/alerts/snapshot.ts', to: 'shared/billing/plans.ts' },
        { from: 'shared/billing/invoices.ts', to: 'shared/events/domain-events.ts' },
      ]),
    ).toEqual([]);
  });
});
