import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * docs/architecture.md and each context's README.md name files, ports and adapters; this keeps them true. A named
 * file must exist, a named port must be exported by its context's ports.ts, and a context's row must name every port
 * (an exported interface with methods) and every adapter file it has.
 */
const ROOT = join(import.meta.dirname, '..', '..');
const TOP_FOLDERS = /^(functions|shared|infra|local|tests|docs|scripts|bench|clients|dashboard|events)\//;

interface Row {
  context: string;
  owns: string[];
  ports: string[];
  adapters: string[];
  events: string[];
}

const ticked = (text: string) => [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
const fileLike = (name: string) => /\.(ts|tsx|md|json)$/.test(name) || /^[\w.-]+\/$/.test(name) || TOP_FOLDERS.test(name);
const portLike = (name: string) => /^[A-Z][A-Za-z]+$/.test(name);

/** The contexts table's rows: `| \`billing/\` | owns | ports | adapters | events |`. */
function contextRows(markdown: string): Row[] {
  return markdown
    .split('\n')
    .filter((line) => /^\| `[a-z]+\/` /.test(line))
    .map((line) => {
      const [context, owns, ports, adapters, events] = line
        .split('|')
        .slice(1, 6)
        .map((cell) => cell.trim());
      return {
        context: ticked(context!)[0]!.replace(/\/$/, ''),
        owns: ticked(owns ?? ''),
        ports: ticked(ports ?? '').filter(portLike),
        adapters: ticked(adapters ?? '').filter((name) => name.endsWith('.ts')),
        events: ticked(events ?? ''),
      };
    });
}

/** Exported interfaces of a ports.ts, each with whether it has methods (a port) or only data. */
function exportedInterfaces(file: string): Map<string, boolean> {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const found = new Map<string, boolean>();
  for (const statement of source.statements) {
    const exported = ts.canHaveModifiers(statement) && ts.getModifiers(statement)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
    if (!exported) continue;
    if (ts.isInterfaceDeclaration(statement)) {
      const methods = statement.members.some(
        (m) => ts.isMethodSignature(m) || (ts.isPropertySignature(m) && m.type !== undefined && ts.isFunctionTypeNode(m.type)),
      );
      found.set(statement.name.text, methods);
    } else if (ts.isTypeAliasDeclaration(statement)) found.set(statement.name.text, false);
  }
  return found;
}

/** Where a name written in a context's docs may live: the repository root, the context's folder or its adapters. */
function exists(name: string, context?: string): boolean {
  const candidates = TOP_FOLDERS.test(name) ? [name] : context ? [`shared/${context}/${name}`, `shared/${context}/adapters/${name}`] : [];
  return candidates.some((path) => existsSync(join(ROOT, path)));
}

/** What is wrong with a context's row, measured against the tree. */
function rowProblems(row: Row): string[] {
  const problems: string[] = [];
  const folder = join(ROOT, 'shared', row.context);
  if (!existsSync(folder)) return [`shared/${row.context}/ does not exist`];
  for (const name of [...row.owns, ...row.adapters].filter(fileLike))
    if (!exists(name, row.context)) problems.push(`${row.context}: names ${name}, which does not exist`);
  const portsFile = join(folder, 'ports.ts');
  const declared = existsSync(portsFile) ? exportedInterfaces(portsFile) : new Map<string, boolean>();
  for (const port of row.ports)
    if (!declared.has(port)) problems.push(`${row.context}: names the port ${port}, which shared/${row.context}/ports.ts does not export`);
  for (const [name, isPort] of declared)
    if (isPort && !row.ports.includes(name)) problems.push(`${row.context}: the port ${name} is not named in its row`);
  const adapters = existsSync(join(folder, 'adapters')) ? readdirSync(join(folder, 'adapters')).filter((f) => f.endsWith('.ts')) : [];
  for (const adapter of adapters)
    if (!row.adapters.includes(adapter)) problems.push(`${row.context}: the adapter ${adapter} is not named in its row`);
  return problems;
}

const architecture = readFileSync(join(ROOT, 'docs', 'architecture.md'), 'utf8');
const contexts = readdirSync(join(ROOT, 'shared'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name);

describe('docs/architecture.md', () => {
  const rows = contextRows(architecture);

  it('has a row for every context folder in shared/', () => {
    expect(rows.map((row) => row.context).sort()).toEqual([...contexts].sort());
  });

  it('names only files, ports and adapters that exist, and every port and adapter there is', () => {
    expect(rows.flatMap(rowProblems)).toEqual([]);
  });

  it('names only repository paths that exist, anywhere on the page', () => {
    const missing = ticked(architecture).filter(
      (name) => TOP_FOLDERS.test(name) && !/[<*]/.test(name) && !exists(name.replace(/ .*$/, '')),
    );
    expect(missing).toEqual([]);
  });

  it('names only domain events that exist', () => {
    const source = readFileSync(join(ROOT, 'shared', 'events', 'domain-events.ts'), 'utf8');
    const named = rows.flatMap((row) => row.events).filter((name) => /^[a-z]+\.[a-z_]+$/.test(name));
    expect(named.length).toBeGreaterThan(5);
    expect(named.filter((name) => !source.includes(`'${name}':`))).toEqual([]);
  });

  it('catches a planted unknown port, a missing port and a missing adapter', () => {
    const billing = rows.find((row) => row.context === 'billing')!;
    expect(rowProblems({ ...billing, ports: [...billing.ports, 'InvoiceMailer'] })).toEqual([
      'billing: names the port InvoiceMailer, which shared/billing/ports.ts does not export',
    ]);
    expect(rowProblems({ ...billing, ports: billing.ports.filter((port) => port !== 'BillingStore') })).toEqual([
      'billing: the port BillingStore is not named in its row',
    ]);
    expect(
      rowProblems({ ...billing, adapters: [...billing.adapters.filter((a) => a !== 'billing-store.ts'), 'alert-notifier.ts'] }),
    ).toEqual(['billing: names alert-notifier.ts, which does not exist', 'billing: the adapter billing-store.ts is not named in its row']);
  });
});

describe("each context's README.md", () => {
  for (const context of contexts) {
    it(`shared/${context}/README.md exists and names only what exists`, () => {
      const path = join(ROOT, 'shared', context, 'README.md');
      expect(existsSync(path), `shared/${context}/README.md`).toBe(true);
      const names = ticked(readFileSync(path, 'utf8'));
      const portsFile = join(ROOT, 'shared', context, 'ports.ts');
      const declared = existsSync(portsFile) ? exportedInterfaces(portsFile) : new Map<string, boolean>();
      const unknownFiles = names.filter((name) => fileLike(name) && !/[<*]/.test(name) && !exists(name, context));
      const unknownPorts = names.filter(
        (name) =>
          portLike(name) &&
          declared.size > 0 &&
          /(Store|Reads|Queue|Bus|Reporter|Source|Lookup|Jobs|Directory)$/.test(name) &&
          !declared.has(name),
      );
      expect([...unknownFiles, ...unknownPorts]).toEqual([]);
    });
  }
});
