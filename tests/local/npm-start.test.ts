import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import { call, type NpmStart, npmStart } from '../support/npm-start.js';

const HOUR = 3_600_000;
const GRACE = 72 * HOUR;
const monthStart = (t: number, add = 0) => Date.UTC(new Date(t).getUTCFullYear(), new Date(t).getUTCMonth() + add, 1);

describe('npm start keeps what it was given', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'meterline-state-'));
  let running: NpmStart | undefined;
  afterAll(() => {
    running?.kill();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('brings back the tenant, its key, its counters and its invoice after Ctrl-C and a second start; --reset starts empty', async () => {
    const first = (running = await npmStart(stateDir));
    const { adminKey } = first.saved();
    const api = (method: string, path: string, key: string, body?: unknown) => call(first.apiUrl, method, path, key, body);

    expect(await api('POST', '/v1/admin/tenants', adminKey, { id: 'acme', name: 'Acme' })).toMatchObject({ status: 201 });
    expect(
      await api('PUT', '/v1/admin/tenants/acme/meters/orders', adminKey, { name: 'Orders', unit: 'order', aggregation: 'COUNT' }),
    ).toMatchObject({ status: 201 });
    const issued = await api('POST', '/v1/admin/tenants/acme/api-keys', adminKey, { name: 'acme backend' });
    expect(issued.status).toBe(201);
    const key: string = issued.body.token;
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
    const invoice = (await api('GET', `/v1/invoices/${invoices[0].id}`, key)).body;
    expect(invoice.lines.find((l: { meter?: string }) => l.meter === 'orders')).toMatchObject({ quantity: '7' });

    // Ctrl-C right after posting: the events may still be on the queue; the stop drains it.
    expect(await api('POST', '/v1/events', key, { id: 'o-late', meter: 'orders', timestamp: new Date().toISOString() })).toMatchObject({
      status: 202,
    });
    await first.interrupt();
    expect(first.output()).toContain('nothing left unfinished');

    const second = (running = await npmStart(stateDir));
    expect(second.output()).toContain('the data of earlier starts is back');
    expect(second.saved().adminKey).toBe(adminKey);
    const again = (method: string, path: string, k: string, body?: unknown) => call(second.apiUrl, method, path, k, body);
    expect(await again('GET', '/v1/admin/tenants/acme', adminKey)).toMatchObject({ status: 200, body: { id: 'acme', name: 'Acme' } });
    const usage = await again('GET', '/v1/usage/current', key);
    expect(usage.status).toBe(200);
    expect(usage.body.meters.find((m: { meter: string }) => m.meter === 'orders')).toMatchObject({ value: '8', events: 8 });
    expect(await again('GET', `/v1/invoices/${invoice.id}`, key)).toMatchObject({
      status: 200,
      body: { id: invoice.id, total: invoice.total },
    });
    expect(await again('POST', '/v1/events', key, { id: 'o-after', meter: 'orders', timestamp: new Date().toISOString() })).toMatchObject({
      status: 202,
    });
    await second.interrupt();
    expect(second.output()).toContain('nothing left unfinished');

    const reset = (running = await npmStart(stateDir, ['--reset']));
    expect(reset.output()).toContain('starting from nothing');
    expect((await call(reset.apiUrl, 'GET', '/v1/meters', key)).status).toBe(403);
    expect((await call(reset.apiUrl, 'GET', '/v1/admin/tenants/acme', adminKey)).status).toBe(403);
    const fresh = reset.saved().adminKey;
    expect(fresh).not.toBe(adminKey);
    expect((await call(reset.apiUrl, 'GET', '/v1/admin/tenants', fresh)).body.tenants.map((t: { id: string }) => t.id)).toEqual(['demo']);
    await reset.interrupt();
    running = undefined;
  }, 1_200_000);
});
