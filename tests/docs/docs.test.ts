import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FunctionName } from '../../infra/catalog.js';
import { invokeSample } from '../../local/invoke.js';
import { readLocalState } from '../../local/state.js';
import { eventually } from '../support/eventually.js';
import { call, type NpmStart, npmStart } from '../support/npm-start.js';
import { allBlocks, blocks, hasShape, PLANTED, plantWrongFlag, ROOT, where } from './markdown.js';

/**
 * The first hour, proved: `npm start` as the README prints it, then every runnable shell block of the
 * documentation (exit code, and the shape of the output shown after it), each again with a wrong flag planted,
 * every sample event through what `npm run invoke` runs, and the client installed from its packed tarball. Then the
 * days after, on the same state directory: what a developer made, a Ctrl-C while events stream in, a second start
 * that has it all back with every accepted event counted once, and `--reset`. Each start is a real `npm start` in its
 * own process group; the days after go on from the first hour's start rather than a start of their own.
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
/** The `npm start` that is up: the first hour's, then each start of the days after. */
let running: NpmStart | undefined;
let first: NpmStart;

beforeAll(async () => {
  // The quick start is a first start: a developer's own data (tables, keys, Stripe state) waits beside it meanwhile.
  if (existsSync(meterlineDir)) renameSync(meterlineDir, setAside);
  first = running = await npmStart(meterlineDir);
  const printed = first.output();
  // The README's first step shows this much of it.
  expect(hasShape(printed, '…Meterline is up at http://127.0.0.1:…dashboard (demo tenant):  http://127.0.0.1:…/#session=mds_…')).toBe(true);
}, 420_000);

afterAll(async () => {
  // A test that failed may leave a start up, or one already gone.
  try {
    await running?.interrupt();
  } catch {
    running?.kill();
  }
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

const HOUR = 3_600_000;
const GRACE = 72 * HOUR;
const monthStart = (t: number, add = 0) => Date.UTC(new Date(t).getUTCFullYear(), new Date(t).getUTCMonth() + add, 1);

type Outcome = 'accepted' | 'refused' | 'unanswered';
type Batch = { events: object[]; outcome: Outcome; retryAfter?: string | null };

describe('npm start keeps what it was given, the days after', () => {
  let adminKey: string;
  let key: string;
  let invoice: { id: string; total: string };
  const batches = new Map<number, Batch>();
  const post = async (apiUrl: string, events: object[]): Promise<Omit<Batch, 'events'>> => {
    try {
      const res = await call(apiUrl, 'POST', '/v1/events', key, events);
      if (res.status === 202 && res.body.accepted === events.length) return { outcome: 'accepted' };
      if (res.status === 503) return { outcome: 'refused', retryAfter: res.headers.get('retry-after') };
      throw new Error(`ingest answered ${res.status}: ${JSON.stringify(res.body)}`);
    } catch (error) {
      if (error instanceof TypeError) return { outcome: 'unanswered' }; // fetch failed: refused or reset
      throw error;
    }
  };

  it('keeps a tenant, its key, its counters and its invoice on a first start', async () => {
    adminKey = first.saved().adminKey;
    const api = (method: string, path: string, k: string, body?: unknown) => call(first.apiUrl, method, path, k, body);

    expect(await api('POST', '/v1/admin/tenants', adminKey, { id: 'acme', name: 'Acme' })).toMatchObject({ status: 201 });
    expect(
      await api('PUT', '/v1/admin/tenants/acme/meters/orders', adminKey, { name: 'Orders', unit: 'order', aggregation: 'COUNT' }),
    ).toMatchObject({ status: 201 });
    const issued = await api('POST', '/v1/admin/tenants/acme/api-keys', adminKey, { name: 'acme backend' });
    expect(issued.status).toBe(201);
    key = issued.body.token;
    const now = Date.now();
    expect(
      await api('PUT', '/v1/admin/tenants/acme/subscription', adminKey, {
        planId: 'base-199',
        startAt: new Date(monthStart(now)).toISOString(),
      }),
    ).toMatchObject({ status: 201 });
    const events = Array.from({ length: 7 }, (_, i) => ({
      id: `o-${i}`,
      meter: 'orders',
      timestamp: new Date(now - i * 1000).toISOString(),
    }));
    expect(await api('POST', '/v1/events', key, events)).toMatchObject({ status: 202, body: { accepted: 7 } });
    await eventually(
      () => api('GET', '/v1/usage/current', key),
      (u) => u.body.meters.find((m: { meter: string }) => m.meter === 'orders')?.value === '7',
    );
    // The invoice for this month, as the hourly job would make it once the month and its grace window have passed.
    const time = new Date(monthStart(now, 1) + GRACE + 5 * 60_000).toISOString();
    const run = await fetch(`${first.apiUrl}/_local/schedules/invoicing?time=${time}`, { method: 'POST' });
    expect(run.status).toBe(200);
    const invoices = (await api('GET', '/v1/invoices', key)).body.invoices;
    expect(invoices).toHaveLength(1);
    invoice = (await api('GET', `/v1/invoices/${invoices[0].id}`, key)).body;
    expect(invoice).toMatchObject({ lines: expect.arrayContaining([expect.objectContaining({ meter: 'orders', quantity: '7' })]) });
  }, 600_000);

  it('stops on Ctrl-C while events stream in, refusing late requests with a Retry-After', async () => {
    // Two posters send batches of 25 new events, one after another, until the process is gone. A refused poster waits
    // the Retry-After it was given, as a client does, or until the process is gone: a client that asked again at once
    // would only pile up refused batches to send again after the restart.
    let next = 0;
    let stopped = false;
    const gone = new AbortController();
    const poster = async () => {
      while (!stopped) {
        const n = next++;
        const events = Array.from({ length: 25 }, (_, i) => ({ id: `s-${n}-${i}`, meter: 'orders', timestamp: new Date().toISOString() }));
        const answer = await post(first.apiUrl, events);
        batches.set(n, { events, ...answer });
        if (answer.outcome === 'refused')
          await sleep(Number(answer.retryAfter) * 1000, undefined, { signal: gone.signal }).catch(() => undefined);
      }
    };
    const posters = [poster(), poster()];
    await eventually(
      async () => [...batches.values()].filter((b) => b.outcome === 'accepted').length,
      (n) => n >= 8,
    );
    await first.interrupt();
    running = undefined;
    stopped = true;
    gone.abort();
    await Promise.all(posters);
    expect(first.output()).toContain('nothing left unfinished');
    // Requests that came while it was stopping were refused with a Retry-After, not left without an answer.
    expect([...batches.values()].filter((b) => b.outcome === 'refused').every((b) => b.retryAfter === '5')).toBe(true);
  }, 600_000);

  it('has it all back on a second start, every accepted event counted once, and a resent batch once more', async () => {
    const second = (running = await npmStart(meterlineDir));
    expect(second.output()).toContain('the data of earlier starts is back');
    expect(second.saved().adminKey).toBe(adminKey);
    const again = (method: string, path: string, k: string, body?: unknown) => call(second.apiUrl, method, path, k, body);
    expect(await again('GET', '/v1/admin/tenants/acme', adminKey)).toMatchObject({ status: 200, body: { id: 'acme', name: 'Acme' } });
    expect(await again('GET', `/v1/invoices/${invoice.id}`, key)).toMatchObject({
      status: 200,
      body: { id: invoice.id, total: invoice.total },
    });

    const all = [...batches.values()];
    const accepted = 7 + all.filter((b) => b.outcome === 'accepted').length * 25;
    const unanswered = all.filter((b) => b.outcome === 'unanswered').length * 25;
    const orders = async () =>
      (await again('GET', '/v1/usage/current', key)).body.meters.find((m: { meter: string }) => m.meter === 'orders') as {
        value: string;
        events: number;
      };
    const counted = await orders();
    expect(Number(counted.value)).toBeGreaterThanOrEqual(accepted);
    expect(Number(counted.value)).toBeLessThanOrEqual(accepted + unanswered);

    // A client sends the batches it had no 202 for again, with the same ids: each event then counts exactly once.
    for (const b of all.filter((x) => x.outcome !== 'accepted')) expect((await post(second.apiUrl, b.events)).outcome).toBe('accepted');
    const total = 7 + all.length * 25;
    // The consumer folds the batches sent again in its own time: up to two minutes on a loaded machine.
    const final = await eventually(orders, (o) => Number(o.value) >= total, 2_400);
    expect(final).toMatchObject({ value: String(total), events: total });
    await second.interrupt();
    running = undefined;
    expect(second.output()).toContain('nothing left unfinished');
  }, 600_000);

  it('starts from nothing with --reset: the old keys answer 403 and only the demo tenant is there', async () => {
    const reset = (running = await npmStart(meterlineDir, ['--reset']));
    expect(reset.output()).toContain('starting from nothing');
    expect((await call(reset.apiUrl, 'GET', '/v1/meters', key)).status).toBe(403);
    expect((await call(reset.apiUrl, 'GET', '/v1/admin/tenants/acme', adminKey)).status).toBe(403);
    const fresh = reset.saved().adminKey;
    expect(fresh).not.toBe(adminKey);
    expect((await call(reset.apiUrl, 'GET', '/v1/admin/tenants', fresh)).body.tenants.map((t: { id: string }) => t.id)).toEqual(['demo']);
    await reset.interrupt();
    running = undefined;
  }, 600_000);
});
