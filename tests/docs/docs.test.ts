import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FunctionName } from '../../infra/catalog.js';
import { invokeSample } from '../../local/invoke.js';
import { readLocalState } from '../../local/state.js';
import { type NpmStart, npmStart } from '../support/npm-start.js';
import { allBlocks, blocks, hasShape, PLANTED, plantWrongFlag, ROOT, where } from './markdown.js';

/**
 * The first hour, proved: `npm start` as the README prints it, then every runnable shell block of the
 * documentation (exit code, and the shape of the output shown after it), each again with a wrong flag planted,
 * every sample event through what `npm run invoke` runs, and the client installed from its packed tarball.
 */
interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const run = (file: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) =>
  new Promise<Run>((done) =>
    execFile(file, args, { cwd: options.cwd ?? ROOT, env: options.env ?? process.env, timeout: 180_000, maxBuffer: 64 << 20 }, (e, o, r) =>
      done({ code: e ? ((e as { code?: number }).code ?? 1) : 0, stdout: o, stderr: r }),
    ),
  );

/** A block as a reader runs it at the repository root, in a terminal where `.meterline/env` was sourced. */
const shell = (code: string) => run('bash', ['-c', `set -eo pipefail\nsource .meterline/env\n${code}`]);

/** npm takes an unknown flag as configuration and only warns (an error from its next major version on). */
const npmRefusedFlag = (r: Run) => /Unknown cli config/.test(r.stderr);

const meterlineDir = resolve(ROOT, '.meterline');
/** A developer's own `npm start` data, moved aside whole while the docs run on a fresh one, and put back afterwards. */
const setAside = resolve(ROOT, '.meterline.set-aside-by-docs-test');
let start: NpmStart | undefined;

beforeAll(async () => {
  // The quick start is a first start: a developer's own data (tables, keys, Stripe state) waits beside it meanwhile.
  if (existsSync(meterlineDir)) renameSync(meterlineDir, setAside);
  start = await npmStart(meterlineDir);
  const printed = start.output();
  // The README's first step shows this much of it.
  expect(hasShape(printed, '…Meterline is up at http://127.0.0.1:…dashboard (demo tenant):  http://127.0.0.1:…/#session=mds_…')).toBe(true);
}, 420_000);

afterAll(async () => {
  await start?.interrupt();
  rmSync(meterlineDir, { recursive: true, force: true });
  if (existsSync(setAside)) renameSync(setAside, meterlineDir);
}, 60_000);

describe('every runnable block of the documentation', () => {
  const runnable = allBlocks().filter((b) => b.marks.includes('runnable'));

  it.each(runnable.map((b) => [where(b), b] as const))(
    '%s runs and gives the output shown',
    async (_, block) => {
      let result = await shell(block.code);
      // A read of what the consumer has not folded yet (an event counted a second after it was posted) is asked again.
      for (let i = 0; i < 20 && result.code === 0 && block.output && !hasShape(result.stdout, block.output); i++) {
        await new Promise((r) => setTimeout(r, 500));
        result = await shell(block.code);
      }
      expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
      expect(npmRefusedFlag(result), result.stderr).toBe(false);
      if (block.output) expect(hasShape(result.stdout, block.output), `${result.stdout}\nhas not the shape of\n${block.output}`).toBe(true);
    },
    240_000,
  );

  it.each(runnable.flatMap((b) => (plantWrongFlag(b.code) ? [[where(b), plantWrongFlag(b.code)!] as const] : [])))(
    '%s fails with a wrong flag planted',
    async (_, planted) => {
      const result = await shell(planted);
      expect(result.code !== 0 || npmRefusedFlag(result), `${result.stdout}\n${result.stderr}`).toBe(true);
      expect(`${result.stdout}${result.stderr}`).toContain(PLANTED.slice(2));
    },
    120_000,
  );
});

describe('every sample event in events/', () => {
  // The corrections sample corrects the order the ingest sample posts, so it goes after it.
  const files = readdirSync(resolve(ROOT, 'events')).sort(
    (a, b) => Number(a.startsWith('corrections')) - Number(b.startsWith('corrections')),
  );
  const functionOf = (file: string) => file.replace(/(\.[\w-]+)?\.json$/, '') as FunctionName;

  it("runs through `npm run invoke` as development.md shows, printing the handler's answer", async () => {
    const result = await run('npm', ['run', '-s', 'invoke', '--', 'usage', 'events/usage.current.json']);
    expect(result.code, result.stderr).toBe(0);
    // Logs may come first; the handler's answer is the last JSON document printed.
    const answer = JSON.parse(result.stdout.slice(result.stdout.lastIndexOf('\n{\n') + 1));
    expect(answer.statusCode, answer.body).toBe(200);
  }, 120_000);

  // Each sample then goes through the function `npm run invoke` calls, in this process: a process per sample would
  // spend its time starting Node and loading the handlers again, and prove nothing more than the run above.
  it.each(files)(
    '%s succeeds',
    async (file) => {
      const fn = functionOf(file);
      const invoke = () => invokeSample(fn, `events/${file}`, readLocalState()!) as Promise<Record<string, unknown>>;
      let answer = await invoke();
      // The ledger has the ingest sample's order a moment after it was queued.
      for (let i = 0; i < 20 && fn === 'corrections' && answer.statusCode === 404; i++) {
        await new Promise((r) => setTimeout(r, 500));
        answer = await invoke();
      }
      // A mail link's token is signed with a key each installation makes, so no sample can carry a valid one: the
      // email-links sample is a link Meterline did not sign, and its answer is the refusal page.
      if ('statusCode' in answer && fn === 'email-links') expect(answer.body).toContain('This link does not work');
      else if ('statusCode' in answer) expect(answer.statusCode, String(answer.body)).toBeLessThan(400);
      if ('batchItemFailures' in answer) expect(answer.batchItemFailures).toEqual([]);
      if ('isAuthorized' in answer) expect(answer.isAuthorized).toBe(true);
      if ('failedTenants' in answer) expect(answer.failedTenants).toEqual([]);
    },
    180_000,
  );

  it('refuses an argument too many', async () => {
    expect((await run('npm', ['run', '-s', 'invoke', '--', 'usage', 'events/usage.current.json', PLANTED])).code).toBe(2);
  }, 60_000);
});

describe('the client, packed and installed as its README says', () => {
  it('installs from its tarball into an empty project, and the README example counts its events', async () => {
    const project = mkdtempSync(join(tmpdir(), 'meterline-client-'));
    try {
      const pack = await run('npm', ['pack', '--pack-destination', project], { cwd: resolve(ROOT, 'clients/node') });
      expect(pack.code, pack.stderr).toBe(0);
      const tarball = pack.stdout.trim().split('\n').at(-1)!;
      expect((await run('npm', ['init', '-y'], { cwd: project })).code).toBe(0);
      const install = await run('npm', ['install', '--no-audit', '--no-fund', join(project, tarball)], { cwd: project });
      expect(install.code, install.stderr).toBe(0);
      const [example] = blocks('clients/node/README.md').filter((b) => b.lang === 'ts');
      writeFileSync(join(project, 'example.mts'), example!.code);
      const state = readLocalState()!;
      const env = { ...process.env, METERLINE_API_URL: state.apiUrl, METERLINE_API_KEY: state.tenantKey };
      const ran = await run(process.execPath, ['--experimental-strip-types', '--no-warnings', 'example.mts'], { cwd: project, env });
      expect(ran.code, `${ran.stdout}\n${ran.stderr}`).toBe(0);
      expect(hasShape(ran.stdout, '…tracked: 2,…accepted: 2,…rejected: 0,…dropped: 0,…')).toBe(true);
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  }, 300_000);
});
