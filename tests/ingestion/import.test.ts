import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { importEvents, statePath } from '../../scripts/admin/import.js';
import { api, createAdminKey, createTenant, startTestStack } from '../support/stack.js';

/**
 * `events import` against the local stack: a tenant's history, older than the open period (a first import),
 * interrupted halfway and resumed, then imported again from scratch: every event is counted once.
 * The 100,000-event run of the same code is `npm run bench:import`.
 */
const EVENTS = 3_000;
const HOUR = 3_600_000;
const monthStart = (add: number) => Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth() + add, 1);
const history = monthStart(-3);

describe('importing history', () => {
  let stack: LocalStack;
  let admin: string;
  let key: string;
  let dir: string;
  const target = () => ({ apiUrl: stack.apiUrl, adminKey: admin });
  const ordersIn = async (from: number, to: number) => {
    const r = await api(
      stack,
      'GET',
      `/v1/usage?meter=orders&granularity=month&from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}`,
      key,
    );
    return r.body.data.reduce((sum: number, b: { value: string }) => sum + Number(b.value), 0);
  };

  beforeAll(async () => {
    stack = await startTestStack();
    admin = await createAdminKey(stack);
    key = await createTenant(stack, 'archive');
    dir = mkdtempSync(join(tmpdir(), 'meterline-import-'));
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await stack?.stop();
  });

  it('refuses events before the open period unless it is the first import', async () => {
    const file = join(dir, 'old.ndjson');
    writeFileSync(file, `${JSON.stringify({ id: 'old-1', meter: 'orders', timestamp: new Date(history).toISOString() })}\n`);
    const summary = await importEvents({ target: target(), tenantId: 'archive', file });
    expect(summary).toMatchObject({
      lines: 1,
      accepted: 0,
      rejected: 1,
      rejections: { TIMESTAMP_TOO_OLD: { count: 1, examples: [expect.objectContaining({ line: 1, id: 'old-1', field: 'timestamp' })] } },
    });
  });

  it('imports NDJSON interrupted halfway and resumed, counting each event once, with a summary of rejections', async () => {
    const file = join(dir, 'usage.ndjson');
    const lines = Array.from({ length: EVENTS }, (_, i) =>
      JSON.stringify({ id: `h-${i}`, meter: 'orders', timestamp: new Date(history + (i % 1000) * HOUR).toISOString() }),
    );
    lines.splice(100, 0, '{not json', JSON.stringify({ id: 'bad-meter', meter: 'nope', timestamp: new Date(history).toISOString() }));
    writeFileSync(file, `${lines.join('\n')}\n`);

    const stop = new AbortController();
    const halfway = (done: number, total: number) => done >= total / 2 && stop.abort();
    // One request at a time, so the interruption lands between batches of 1,000.
    const first = await importEvents({
      target: target(),
      tenantId: 'archive',
      file,
      firstImport: true,
      concurrency: 1,
      signal: stop.signal,
      onProgress: halfway,
    });
    expect(first.interrupted).toBe(true);
    expect(first.done).toBeGreaterThanOrEqual(EVENTS / 2);
    expect(first.done).toBeLessThan(EVENTS + 2);
    expect(existsSync(statePath(file))).toBe(true);

    const resumed = await importEvents({ target: target(), tenantId: 'archive', file, firstImport: true });
    expect(resumed).toMatchObject({ interrupted: false, resumedFrom: first.done, done: EVENTS + 2, lines: EVENTS + 2, rejected: 2 });
    // A request that timed out on this loaded machine is sent again: its events come back as duplicates, never twice.
    expect(resumed.accepted + resumed.duplicates).toBe(EVENTS);
    expect(resumed.rejections).toMatchObject({
      INVALID_LINE: { count: 1, examples: [{ line: 101 }] },
      UNKNOWN_METER: { count: 1, examples: [{ line: 102, id: 'bad-meter', field: 'meter' }] },
    });
    await stack.drained();
    expect(await ordersIn(history, monthStart(-1))).toBe(EVENTS);

    // The state file lost: the whole file again changes nothing.
    rmSync(statePath(file));
    await importEvents({ target: target(), tenantId: 'archive', file, firstImport: true });
    await stack.drained();
    expect(await ordersIn(history, monthStart(-1))).toBe(EVENTS);
  });

  it('imports CSV: own columns, the rest as properties, decimals as written', async () => {
    const file = join(dir, 'usage.csv');
    const at = new Date().toISOString();
    writeFileSync(file, `id,meter,timestamp,value,job_type\nj-1,ai_jobs,${at},,"forecast, weekly"\ns-1,storage_gb,${at},12.125,\n`);
    const summary = await importEvents({ target: target(), tenantId: 'archive', file });
    expect(summary).toMatchObject({ accepted: 2, rejected: 0 });
    await stack.drained();
    const current = (await api(stack, 'GET', '/v1/usage/current', key)).body.meters;
    expect(current.find((m: { meter: string }) => m.meter === 'storage_gb')).toMatchObject({ value: '12.125' });
  });
});
