import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import { call, type NpmStart, npmStart } from '../support/npm-start.js';

const HOUR = 3_600_000;
const GRACE = 72 * HOUR;
const monthStart = (t: number, add = 0) => Date.UTC(new Date(t).getUTCFullYear(), new Date(t).getUTCMonth() + add, 1);

type Outcome = 'accepted' | 'refused' | 'unanswered';
type Batch = { events: object[]; outcome: Outcome; retryAfter?: string | null };

/**
 * A developer's days with `npm start`, in order: what they made, a Ctrl-C while events stream in, a second start that
 * has it all back with every accepted event counted once, and `--reset`. Each start is a real `npm start` in its own
 * process group, on one state directory.
 */
describe('npm start keeps what it was given', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'meterline-state-'));
  let running: NpmStart | undefined;
  afterAll(() => {
    running?.kill();
    rmSync(stateDir, { recursive: true, force: true });
  });

  let first: NpmStart;
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
    first = running = await npmStart(stateDir);
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
    stopped = true;
    gone.abort();
    await Promise.all(posters);
    expect(first.output()).toContain('nothing left unfinished');
    // Requests that came while it was stopping were refused with a Retry-After, not left without an answer.
    expect([...batches.values()].filter((b) => b.outcome === 'refused').every((b) => b.retryAfter === '5')).toBe(true);
  }, 600_000);

  it('has it all back on a second start, every accepted event counted once, and a resent batch once more', async () => {
    const second = (running = await npmStart(stateDir));
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
    let final = await orders();
    for (let i = 0; i < 240 && Number(final.value) < total; i++) {
      await new Promise((r) => setTimeout(r, 500));
      final = await orders();
    }
    expect(final).toMatchObject({ value: String(total), events: total });
    await second.interrupt();
    expect(second.output()).toContain('nothing left unfinished');
  }, 600_000);

  it('starts from nothing with --reset: the old keys answer 403 and only the demo tenant is there', async () => {
    const reset = (running = await npmStart(stateDir, ['--reset']));
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
