import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { runAdmin } from '../../scripts/admin/cli.js';
import { createAdminKey, startTestStack } from '../support/stack.js';

/**
 * The admin CLI as an operator runs it, against the local stack: parsing, help, tables, --json, exit codes, progress.
 * Commands run through `runAdmin`, everything scripts/admin.ts does but start a process; the first test runs the
 * script itself, as `npm run admin` does, for what the process adds (the exit code, the streams).
 */
const ROOT = resolve(import.meta.dirname, '..', '..');
const run = promisify(execFile);

describe('admin CLI', () => {
  let stack: LocalStack;
  let env: NodeJS.ProcessEnv;
  const admin = async (...args: string[]) => {
    let stdout = '';
    let stderr = '';
    const code = await runAdmin(args, { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) } });
    return { code, stdout, stderr };
  };
  const adminProcess = async (...args: string[]) => {
    try {
      const r = await run(process.execPath, ['--import', 'tsx', 'scripts/admin.ts', ...args], { cwd: ROOT, env });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  beforeAll(async () => {
    stack = await startTestStack();
    env = { ...process.env, METERLINE_API_URL: stack.apiUrl, METERLINE_ADMIN_KEY: await createAdminKey(stack) };
    // What the operator's shell exports, for the commands run in this process too.
    process.env.METERLINE_API_URL = env.METERLINE_API_URL;
    process.env.METERLINE_ADMIN_KEY = env.METERLINE_ADMIN_KEY;
  });
  afterAll(() => stack?.stop());

  it('lists its commands, and helps with each, as a process with its exit codes', async () => {
    const list = await adminProcess();
    expect(list.code).toBe(0);
    for (const name of ['tenants create', 'events import', 'recompute start', 'recompute status', 'billing pause'])
      expect(list.stdout).toContain(name);
    const help = await admin('recompute', 'start', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('usage: npm run admin -- recompute start --tenant <id>');
    expect(help.stdout).toMatch(/--repair\s+repair the drifts found/);
    expect(await adminProcess('tenants', 'explode')).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown command') });
    const failed = await adminProcess('tenants', 'show', '--tenant', 'nobody-here');
    expect(failed).toMatchObject({ code: 1, stderr: expect.stringContaining('404 NOT_FOUND') });
  }, 120_000);

  it('refuses unknown commands, unknown options and missing values with its usage and exit code 2', async () => {
    expect((await admin('tenants', 'explode')).code).toBe(2);
    const unknown = await admin('tenants', 'show', '--tenant', 'x', '--bogus');
    expect(unknown).toMatchObject({ code: 2 });
    expect(unknown.stderr).toContain("Unknown option '--bogus'");
    const missing = await admin('keys', 'create');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--tenant is required');
    const api = await admin('tenants', 'show', '--tenant', 'nobody-here');
    expect(api.code).toBe(1);
    expect(api.stderr).toContain('404 NOT_FOUND');
  }, 60_000);

  it('prints tables by default and the API answer with --json', async () => {
    const created = await admin('tenants', 'create', '--name', 'CLI Labs', '--tenant', 'cli-labs', '--seed-meters', '--json');
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ id: 'cli-labs', name: 'CLI Labs' });
    expect((await admin('tenants', 'show', '--tenant', 'cli-labs')).stdout).toMatch(/id\s+cli-labs/);
    const meters = await admin('meters', 'list', '--tenant', 'cli-labs');
    expect(meters.stdout.split('\n')[1]).toMatch(/^key\s+name\s+unit\s+aggregation/);
    expect(meters.stdout).toMatch(/seats\s+Active users\s+user\s+UNIQUE_COUNT/);
  }, 60_000);

  it('takes --id as an alias of --tenant in tenants create, and names what it did when the API answers nothing', async () => {
    expect(await admin('tenants', 'create', '--name', 'Alias Labs', '--id', 'alias-labs', '--json')).toMatchObject({ code: 0 });
    expect((await admin('tenants', 'create', '--name', 'X', '--id', 'a', '--tenant', 'b')).code).toBe(2);
    const key = JSON.parse((await admin('keys', 'create', '--tenant', 'alias-labs', '--json')).stdout);
    const revoked = await admin('keys', 'revoke', '--tenant', 'alias-labs', '--key', key.keyId);
    expect(revoked).toMatchObject({ code: 0, stdout: 'keys revoke: done\n' });
  }, 60_000);

  it('prints every rejection of an import whole, and says what a re-run of a finished import does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meterline-cli-import-'));
    const file = join(dir, 'usage.ndjson');
    const at = new Date().toISOString();
    const long = `meter "${'x'.repeat(60)}" is not defined`;
    writeFileSync(
      file,
      [
        { id: 'i-1', meter: 'orders', timestamp: at },
        { id: 'i-2', meter: 'x'.repeat(60), timestamp: at },
        { id: 'i-3', meter: 'orders', timestamp: at, value: -5 },
      ]
        .map((e) => JSON.stringify(e))
        .join('\n'),
    );
    const first = await admin('events', 'import', '--tenant', 'cli-labs', '--file', file);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^ {2}UNKNOWN_METER: 1$/m);
    expect(first.stdout).toMatch(/^ {2}INVALID_VALUE: 1$/m);
    expect(first.stdout).toContain(`line 2 (i-2), meter: ${long}`);
    expect(first.stdout).not.toContain('…');
    const again = await admin('events', 'import', '--tenant', 'cli-labs', '--file', file, '--json');
    expect(JSON.parse(again.stdout)).toMatchObject({ resumedFrom: 3, accepted: 1 });
    expect(again.stderr).toContain('was imported completely before');
    const restarted = JSON.parse((await admin('events', 'import', '--tenant', 'cli-labs', '--file', file, '--restart', '--json')).stdout);
    // Sent again: a duplicate once the consumer has it in the ledger, accepted (and still counted once) before.
    expect(restarted).toMatchObject({ resumedFrom: 0, done: 3, rejected: 2 });
    expect(restarted.accepted + restarted.duplicates).toBe(1);
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it("sets a tenant's rate limits, back to the default with 'default', and refuses a value that is not a count", async () => {
    const set = await admin('tenants', 'rate-limits', '--tenant', 'cli-labs', '--ingest', '300', '--json');
    expect(set.code).toBe(0);
    expect(JSON.parse(set.stdout).rateLimits).toMatchObject({ ingest: { limit: 300, source: 'admin' }, read: { source: 'default' } });
    const reset = await admin('tenants', 'rate-limits', '--tenant', 'cli-labs', '--ingest', 'default', '--json');
    expect(JSON.parse(reset.stdout).rateLimits.ingest).toMatchObject({ limit: 100, source: 'default' });
    expect((await admin('tenants', 'rate-limits', '--tenant', 'cli-labs', '--read', 'lots')).code).toBe(2);
    expect((await admin('tenants', 'rate-limits', '--tenant', 'cli-labs', '--read', '100000')).code).toBe(1);
  }, 60_000);

  it("sets a subscription's time zone from the next period, and refuses an offset", async () => {
    expect(await admin('tenants', 'create', '--name', 'Zone Labs', '--tenant', 'zone-labs', '--json')).toMatchObject({ code: 0 });
    expect(await admin('subscription', 'set', '--tenant', 'zone-labs', '--plan', 'base-199', '--json')).toMatchObject({ code: 0 });
    const zoned = JSON.parse(
      (await admin('subscription', 'set', '--tenant', 'zone-labs', '--time-zone', 'Asia/Kathmandu', '--json')).stdout,
    );
    // From the end of the current period: the period already cut keeps its UTC days.
    expect(zoned.timeZones.at(-1)).toEqual({ from: zoned.history.at(-1).effectiveAt, timeZone: 'Asia/Kathmandu' });
    const refused = await admin('subscription', 'set', '--tenant', 'zone-labs', '--time-zone', '+05:45');
    expect([refused.code, refused.stderr]).toEqual([1, expect.stringContaining('timeZone')]);
  }, 120_000);

  it('grants, lists and voids credits, and puts a subscription on prepaid terms and off them', async () => {
    expect(await admin('tenants', 'create', '--name', 'Credit Labs', '--tenant', 'credit-labs', '--seed-meters', '--json')).toMatchObject({
      code: 0,
    });
    const sub = await admin('subscription', 'set', '--tenant', 'credit-labs', '--plan', 'base-199', '--prepaid-overdraft', '25', '--json');
    expect(JSON.parse(sub.stdout)).toMatchObject({ prepaid: { overdraft: '25' } });
    const grant = await admin(
      'credits',
      'grant',
      '--tenant',
      'credit-labs',
      '--amount',
      '500.00',
      '--source',
      'purchased',
      '--priority',
      '10',
      '--monthly',
      '--json',
    );
    expect(grant.code).toBe(0);
    const granted = JSON.parse(grant.stdout);
    expect(granted).toMatchObject({ amount: '500', priority: 10, recurrence: 'monthly', remaining: '500', status: 'active' });
    expect((await admin('credits', 'grant', '--tenant', 'credit-labs', '--amount', '5', '--source', 'gift')).code).toBe(1);
    expect((await admin('credits', 'void', '--tenant', 'credit-labs', '--grant', granted.id, '--json')).code).toBe(0);
    const list = JSON.parse((await admin('credits', 'list', '--tenant', 'credit-labs', '--json')).stdout);
    expect(list.entries.map((e: { kind: string; amount: string }) => `${e.kind} ${e.amount}`).sort()).toEqual(['grant 500', 'void -500']);
    const off = await admin('subscription', 'set', '--tenant', 'credit-labs', '--prepaid-overdraft', 'none', '--json');
    expect(JSON.parse(off.stdout).prepaid).toBeUndefined();
  }, 120_000);

  it("sets a subscription's progressive billing thresholds, refuses one below 1, and removes them with 'none'", async () => {
    expect(await admin('tenants', 'create', '--name', 'Surge Labs', '--tenant', 'surge-labs', '--seed-meters', '--json')).toMatchObject({
      code: 0,
    });
    const set = (...args: string[]) => admin('subscription', 'set', '--tenant', 'surge-labs', ...args, '--json');
    const on = await set('--plan', 'base-199', '--threshold', '1000.00', '--threshold-every', '500.00');
    expect(JSON.parse(on.stdout)).toMatchObject({ thresholds: { amount: '1000.00', every: '500.00' } });
    const refused = await set('--threshold', '0.50');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('thresholds.amount');
    const off = await set('--threshold', 'none');
    expect(JSON.parse(off.stdout).thresholds).toBeUndefined();
    expect(JSON.parse(off.stdout).history.map((h: { action: string }) => h.action)).toEqual(['created', 'thresholds_changed']);
  }, 120_000);

  it('follows a recompute job to its end, drawing progress on stderr', async () => {
    const job = admin('recompute', 'start', '--tenant', 'cli-labs', '--repair');
    // The worker runs every minute; here it runs until the CLI has seen the job end, so it finds the job as soon as the
    // CLI has started it, however long the CLI takes to come up.
    let followed = false;
    void job.then(() => (followed = true));
    while (!followed) {
      await stack.runSchedule('recompute-worker');
      await new Promise((done) => setTimeout(done, 200));
    }
    const { code, stdout, stderr } = await job;
    expect(code).toBe(0);
    expect(stdout).toMatch(/status\s+succeeded/);
    expect(stdout).toContain('drifts (0)');
    expect(stderr).toContain('recompute succeeded · done');
  }, 120_000);

  it('publishes and lists plan versions, migrates subscriptions, simulates a tenant and the fleet, as tables, --json and --csv', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meterline-cli-versions-'));
    try {
      const file = join(dir, 'plan.json');
      const definition = {
        name: 'CLI plan',
        currency: 'USD',
        interval: 'month',
        baseFee: '10.00',
        prices: { orders: { model: 'perUnit', unitPrice: '0.10' } },
      };
      writeFileSync(file, JSON.stringify(definition));
      expect(await admin('plans', 'put', '--plan', 'cli-plan', '--file', file, '--json')).toMatchObject({ code: 0 });
      expect(
        await admin('tenants', 'create', '--name', 'Version Labs', '--tenant', 'version-labs', '--seed-meters', '--json'),
      ).toMatchObject({ code: 0 });
      expect(await admin('subscription', 'set', '--tenant', 'version-labs', '--plan', 'cli-plan', '--json')).toMatchObject({ code: 0 });

      writeFileSync(file, JSON.stringify({ ...definition, baseFee: '12.00' }));
      const published = JSON.parse((await admin('plans', 'publish', '--plan', 'cli-plan', '--file', file, '--json')).stdout);
      expect(published).toMatchObject({ id: 'cli-plan', version: 2, baseFee: '12.00' });
      const versions = await admin('plans', 'versions', '--plan', 'cli-plan');
      expect(versions.stdout).toMatch(/^version\s+effectiveAt\s+name\s+baseFee\s+meters\s+current/m);
      expect(versions.stdout).toMatch(/^2\s+\S+\s+CLI plan\s+12.00 USD\s+orders\s+\*$/m);

      const migrated = JSON.parse(
        (await admin('subscriptions', 'migrate', '--plan', 'cli-plan', '--tenants', 'version-labs,nobody-here', '--json')).stdout,
      );
      expect(migrated).toMatchObject({
        version: 2,
        migrated: [{ tenantId: 'version-labs', from: 'cli-plan', to: 'cli-plan@2' }],
        skipped: [{ tenantId: 'nobody-here', reason: 'no subscription' }],
      });

      const simulated = await admin('simulate', '--tenant', 'version-labs', '--plan', 'cli-plan', '--version', '2');
      expect(simulated).toMatchObject({ code: 0 });
      expect(simulated.stdout).toContain('on CLI plan (cli-plan v2), USD, before tax');
      const both = await admin('simulate', '--tenant', 'version-labs', '--plan', 'cli-plan', '--file', file);
      expect(both.code).not.toBe(0);
      expect(both.stderr).toContain('400 INVALID_REQUEST');

      // Without a tenant: the fleet, as a job the worker runs (here until the CLI has seen it end).
      const csv = join(dir, 'fleet.csv');
      const fleet = admin('simulate', '--plan', 'cli-plan', '--version', '2', '--csv', csv);
      let followed = false;
      void fleet.then(() => (followed = true));
      while (!followed) {
        await stack.runSchedule('simulation-worker');
        await new Promise((done) => setTimeout(done, 200));
      }
      const { code, stdout, stderr } = await fleet;
      expect(code).toBe(0);
      expect(stderr).toMatch(/simulation succeeded · \d+ of \d+ tenants priced/);
      expect(stdout).toMatch(/status\s+succeeded/);
      expect(stdout).toContain('revenue by period');
      expect(readFileSync(csv, 'utf8')).toMatch(/^tenant_id,period_start,issued,simulated,difference,percent\r\n/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
