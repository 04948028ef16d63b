import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { functionSpecs } from '../../infra/catalog.js';
import { allBlocks, blocks, documentationFiles, hasShape, PLANTED, plantWrongFlag, ROOT, SHELL, TYPESCRIPT, where } from './markdown.js';

/** What a newcomer meets before running anything: the license, the docs' links and marks, the snippets' types. */
const read = (file: string) => readFileSync(resolve(ROOT, file), 'utf8');
const json = (file: string) => JSON.parse(read(file));

describe('license', () => {
  it('is Apache-2.0 in LICENSE and in every package.json', () => {
    expect(read('LICENSE')).toContain('Apache License\n                           Version 2.0, January 2004');
    for (const pkg of ['package.json', 'clients/node/package.json']) expect(json(pkg).license, pkg).toBe('Apache-2.0');
    expect(json('clients/node/package.json').files).toContain('LICENSE');
  });

  it('names every copied third-party file in NOTICE', () => {
    const notice = read('NOTICE');
    const copied = ['tests/fixtures/aws-events/*.json', 'tests/fixtures/stripe/fixtures3.json', 'local/stripe-emulator/fixtures.json'];
    for (const file of copied) expect(notice).toContain(file);
    expect(notice).toContain('Apache License, Version 2.0');
    expect(notice).toContain('MIT License');
  });
});

describe('the documentation', () => {
  it('has a README of about 150 lines that opens with the two commands', () => {
    const readme = read('README.md');
    expect(readme.split('\n').length).toBeLessThanOrEqual(160);
    const first = blocks('README.md')[0]!;
    expect(first.code).toContain('npm install && npm start');
    expect(first.code).toContain('npm install && npm test');
  });

  it('links only to files that exist, and lists every docs/ file in docs/README.md', () => {
    for (const file of documentationFiles()) {
      for (const [, target] of read(file).matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue;
        expect(existsSync(resolve(ROOT, dirname(file), target!)), `${file} → ${target}`).toBe(true);
      }
    }
    const toc = read('docs/README.md');
    for (const file of readdirSync(resolve(ROOT, 'docs')).filter((f) => f.endsWith('.md') && f !== 'README.md'))
      expect(toc, `docs/README.md lists ${file}`).toContain(`](${file})`);
  });

  it('marks every shell block runnable or manual', () => {
    const shell = allBlocks().filter((b) => SHELL.has(b.lang));
    expect(shell.filter((b) => b.marks.includes('runnable')).length).toBeGreaterThanOrEqual(5);
    for (const b of shell)
      expect(
        b.marks.some((m) => m === 'runnable' || m === 'manual'),
        where(b),
      ).toBe(true);
  });

  it('plants a wrong flag in every runnable block that runs curl or npm', () => {
    expect(plantWrongFlag(`curl -s "$A/v1/x" \\\n  -d '[1,\n 2]'`)).toBe(`curl ${PLANTED} -s "$A/v1/x" \\\n  -d '[1,\n 2]'`);
    expect(plantWrongFlag('npm run admin -- keys list \\\n  --tenant t   # read it')).toBe(
      `npm run admin -- keys list \\\n  --tenant t ${PLANTED}   # read it`,
    );
    expect(plantWrongFlag('source .meterline/env')).toBeUndefined();
    expect(hasShape('{"a": 1, "b": [2, 3]}', '{"a":1,…}')).toBe(true);
    expect(hasShape('{"a": 2}', '{"a":1,…}')).toBe(false);
  });

  it('says the Node version package.json asks for, which the node devDependency and Lambda share', () => {
    const pkg = json('package.json');
    const engines = /^>=(\d+)\.(\d+)$/.exec(pkg.engines.node)!;
    expect(pkg.devDependencies.node.split('.')[0]).toBe(engines[1]);
    expect(read('infra/bundling.ts')).toContain(`NODEJS_${engines[1]}_X`);
    for (const file of ['README.md', 'docs/development.md']) expect(read(file)).toContain(`Node.js ${engines[1]}.${engines[2]} or newer`);
    expect(read('docs/development.md')).not.toMatch(/Node 20\b/);
  });

  it('says of prices and invoice documents what the API does', () => {
    const billing = read('docs/billing.md');
    // tests/billing/exact-numbers.test.ts holds JSON-number prices taken exactly; the dashboard test downloads a PDF.
    expect(billing).not.toMatch(/refuses JSON numbers/);
    expect(billing).toContain('or as a JSON number');
    expect(Object.values(functionSpecs).flatMap((f) => ('routes' in f ? f.routes : []))).toContain('GET /v1/invoices/{id}/pdf');
    expect(billing).toContain('`GET /v1/invoices/{id}/pdf`');
    expect(read('docs/dashboard.md')).not.toMatch(/not tracked/);
  });

  it('has one sample event per function in events/, named after it', () => {
    const names = Object.keys(functionSpecs);
    const files = readdirSync(resolve(ROOT, 'events'));
    const functionOf = (f: string) => f.replace(/(\.[\w-]+)?\.json$/, '');
    for (const f of files) expect(names, f).toContain(functionOf(f));
    expect(new Set(files.map(functionOf))).toEqual(new Set(names));
    expect(names).toHaveLength(28);
  });

  it('type-checks every TypeScript block', async () => {
    const dir = resolve(ROOT, 'tests/docs/.snippets');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const snippets = allBlocks().filter((b) => TYPESCRIPT.has(b.lang));
    expect(snippets.length).toBeGreaterThanOrEqual(4);
    const files = snippets.map((b, i) => {
      const name = `${i}-${b.file.replace(/\W+/g, '-')}-${b.line}.ts`;
      writeFileSync(resolve(dir, name), `${b.code}\nexport {};\n`);
      return name;
    });
    writeFileSync(
      resolve(dir, 'tsconfig.json'),
      JSON.stringify({ extends: '../../../tsconfig.json', compilerOptions: { noEmit: true, noUnusedLocals: false }, include: files }),
    );
    const errors = await promisify(execFile)(resolve(ROOT, 'node_modules/.bin/tsgo'), ['-p', resolve(dir, 'tsconfig.json')], {
      cwd: ROOT,
    }).then(
      () => '',
      (error: { stdout: string }) => error.stdout,
    );
    expect(errors).toBe('');
    rmSync(dir, { recursive: true, force: true });
  }, 180_000);
});
