import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { functionSpecs } from '../../infra/catalog.js';
import type { LocalStack } from '../../local/stack.js';
import { seedMeters } from '../../shared/metering/seed-meters.js';
import { api, createAdminKey, createTenant, startTestStack } from '../support/stack.js';

/** A client's mistake is a 4xx with the error contract; never a 5xx, never a silent no-op. */
const clientError = (res: { status: number; body: { code?: unknown; message?: unknown } }) => {
  expect(res.status, JSON.stringify(res.body)).toBeGreaterThanOrEqual(400);
  expect(res.status, JSON.stringify(res.body)).toBeLessThan(500);
  expect(res.body).toMatchObject({ code: expect.any(String), message: expect.any(String) });
};

const forged = (position: unknown) => Buffer.from(JSON.stringify(position)).toString('base64url');

describe('client mistakes on the local stack', () => {
  let stack: LocalStack;
  let key: string;
  let admin: string;
  let endpointId: string;

  beforeAll(async () => {
    stack = await startTestStack();
    key = await createTenant(stack, 'mistakes', [
      ...seedMeters,
      { key: 'tokens', name: 'Tokens', unit: 'token', aggregation: 'SUM', groupBy: [] },
    ]);
    admin = await createAdminKey(stack);
    const endpoint = await api(stack, 'POST', '/v1/webhooks', key, {
      url: 'http://127.0.0.1:9/hook',
      eventTypes: ['usage.threshold_crossed'],
    });
    endpointId = endpoint.body.id;
  });
  afterAll(() => stack?.stop());

  const paginated = () => [
    { path: '/v1/events?status=rejected', token: key },
    { path: '/v1/events?status=quarantined', token: key },
    { path: `/v1/webhooks/${endpointId}/deliveries`, token: key },
    { path: '/v1/admin/quarantine', token: admin },
    { path: '/v1/admin/quarantine?tenantId=mistakes', token: admin },
    { path: '/v1/usage/export?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z', token: key },
  ];

  it('refuses forged cursors on every paginated route with 400 INVALID_REQUEST naming the cursor', async () => {
    const positions = [
      { sk: 5 },
      {},
      { sk: [] },
      { pk: 'mistakes#x' },
      { sk: '2026', taken: 0 },
      { pk: 'a', gsi1pk: 'quarantined', gsi1sk: 'mistakes#' },
    ];
    for (const { path, token } of paginated()) {
      for (const position of positions) {
        const sep = path.includes('?') ? '&' : '?';
        const res = await api(stack, 'GET', `${path}${sep}cursor=${forged(position)}`, token);
        expect(res, `${path} ${JSON.stringify(position)}`).toMatchObject({
          status: 400,
          body: { code: 'INVALID_REQUEST', field: 'cursor' },
        });
      }
    }
  });

  it('answers any cursor string on every paginated route 2xx or 4xx, never 5xx (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...paginated()),
        fc.oneof(
          fc.string(),
          fc.base64String(),
          fc.jsonValue().map(forged),
          fc.tuple(fc.jsonValue(), fc.base64String()).map(([p, s]) => `${forged(p)}.${s}`),
        ),
        async ({ path, token }, cursor) => {
          const sep = path.includes('?') ? '&' : '?';
          const res = await api(stack, 'GET', `${path}${sep}cursor=${encodeURIComponent(cursor)}`, token);
          if (res.status >= 400) clientError(res);
          else expect(res.status).toBe(200);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('pages through with the cursors it hands out, and refuses one handed out for another range', async () => {
    const now = new Date().toISOString();
    await api(stack, 'POST', '/v1/events', key, [
      { id: 'page-1', meter: 'no-such-meter', timestamp: now },
      { id: 'page-2', meter: 'no-such-meter', timestamp: now },
    ]);
    const first = await api(stack, 'GET', '/v1/events?status=rejected&limit=1', key);
    expect(first.body.cursor).toEqual(expect.any(String));
    const second = await api(stack, 'GET', `/v1/events?status=rejected&limit=1&cursor=${first.body.cursor}`, key);
    expect(second.status).toBe(200);
    expect(second.body.events[0].id).not.toBe(first.body.events[0].id);
    const elsewhere = await api(
      stack,
      'GET',
      `/v1/events?status=rejected&limit=1&from=2999-01-01T00:00:00Z&cursor=${first.body.cursor}`,
      key,
    );
    expect(elsewhere).toMatchObject({ status: 400, body: { code: 'INVALID_REQUEST', field: 'cursor' } });
  });

  it('refuses instants outside 1970-9999 on the usage and events routes (two-digit years were read as 19xx)', async () => {
    const year99 = await api(stack, 'GET', '/v1/usage?meter=orders&granularity=day&from=0099-12-25T00:00:00Z&to=0100-01-05T00:00:00Z', key);
    expect(year99).toMatchObject({ status: 400, body: { code: 'INVALID_REQUEST', field: 'from' } });
    const year0 = await api(stack, 'GET', '/v1/usage?meter=orders&granularity=hour&from=0000-01-01T00:00:00Z&to=0000-01-02T00:00:00Z', key);
    expect(year0).toMatchObject({ status: 400, body: { code: 'INVALID_REQUEST', field: 'from' } });
    expect(await api(stack, 'GET', '/v1/events?status=rejected&to=1969-12-31T23:59:59Z', key)).toMatchObject({
      status: 400,
      body: { field: 'to' },
    });
    const old = await api(stack, 'POST', '/v1/events', key, { id: 'y99', meter: 'orders', timestamp: '0099-06-01T00:00:00Z' });
    expect(old.body.results[0]).toMatchObject({ status: 'rejected', code: 'INVALID_EVENT', field: 'timestamp' });
  });

  it('answers any range on the usage routes 2xx or 4xx, never 5xx (property)', async () => {
    const instant = fc.oneof(
      fc
        .date({ min: new Date(Date.UTC(-1000, 0, 1)), max: new Date(Date.UTC(12000, 0, 1)), noInvalidDate: true })
        .map((d) => d.toISOString()),
      fc.date({ min: new Date(0), max: new Date(Date.UTC(2200, 0, 1)), noInvalidDate: true }).map((d) => d.toISOString()),
      fc.string(),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('hour', 'day', 'month'), instant, instant, async (granularity, from, to) => {
        const q = new URLSearchParams({ meter: 'orders', granularity, from, to });
        const res = await api(stack, 'GET', `/v1/usage?${q}`, key);
        if (res.status >= 400) clientError(res);
        else expect(res.status).toBe(200);
        const events = await api(stack, 'GET', `/v1/events?${new URLSearchParams({ status: 'rejected', from, to })}`, key);
        if (events.status >= 400) clientError(events);
        else expect(events.status).toBe(200);
        const exported = await api(stack, 'GET', `/v1/usage/export?${new URLSearchParams({ from, to })}`, key);
        if (exported.status >= 400) clientError(exported);
        else expect(exported.status).toBe(200);
      }),
      { numRuns: 80 },
    );
  });

  it('refuses a value whose exponent decimal.js would round to 0 or Infinity, and booleans as distinct values', async () => {
    const now = new Date().toISOString();
    const r = await api(stack, 'POST', '/v1/events', key, [
      { id: 'tiny', meter: 'tokens', timestamp: now, value: '5e-9000000000000000000' },
      { id: 'huge', meter: 'tokens', timestamp: now, value: '5e9000000000000000000' },
      { id: 'bool-user', meter: 'seats', timestamp: now, properties: { user_id: true } },
      { id: 'typo', meter: 'tokens', timestamp: now, vaule: 2 },
    ]);
    // A JSON number is read from its text, so the same holds for one sent unquoted.
    const unquoted = await api(
      stack,
      'POST',
      '/v1/events',
      key,
      `{"id":"tiny-json","meter":"tokens","timestamp":"${now}","value":5e-9000000000000000000}`,
    );
    expect(unquoted.body.results[0]).toMatchObject({ status: 'rejected', code: 'INVALID_VALUE', field: 'value' });
    expect(r.body.results.map((x: { code: string; field: string }) => [x.code, x.field])).toEqual([
      ['INVALID_VALUE', 'value'],
      ['INVALID_VALUE', 'value'],
      ['INVALID_VALUE', 'properties.user_id'],
      ['INVALID_EVENT', 'vaule'],
    ]);
  });

  it('refuses a correction that changes nothing, and a COUNT value other than 1, as ingest does', async () => {
    await api(stack, 'POST', '/v1/events', key, { id: 'counted', meter: 'orders', timestamp: new Date().toISOString() });
    await stack.drained();
    const two = await api(stack, 'POST', '/v1/events/counted/corrections', key, { correctionId: 'c-2', action: 'replace', value: 2 });
    expect(two).toMatchObject({ status: 400, body: { code: 'INVALID_REQUEST', field: 'value' } });
    const one = await api(stack, 'POST', '/v1/events/counted/corrections', key, { correctionId: 'c-1', action: 'replace', value: 1 });
    expect(one).toMatchObject({ status: 409, body: { code: 'NO_CHANGE' } });
  });

  it('answers 404 NOT_FOUND for an unknown tenant on every admin route that names one, and 400 for a malformed one', async () => {
    // Every catalog route with {tenantId} in its path, whatever its body: the tenant is checked before anything else.
    const routes: [string, string][] = Object.values(functionSpecs)
      .flatMap((spec) => spec.routes ?? [])
      .filter((route) => route.includes('/v1/admin/tenants/{tenantId}'))
      .map((route) => {
        const [method, path] = route.split(' ');
        return [method!, path!.replace('{tenantId}', 'nobody').replace(/\{[a-zA-Z]+\}/g, 'x1')];
      });
    expect(routes.length).toBeGreaterThan(25);
    routes.push(['GET', '/v1/admin/quarantine?tenantId=nobody'], ['GET', '/v1/admin/billing-issues?tenantId=nobody']);
    for (const [method, path] of routes) {
      expect(
        await api(stack, method, path, admin, method === 'GET' || method === 'DELETE' ? undefined : {}),
        `${method} ${path}`,
      ).toMatchObject({
        status: 404,
        body: { code: 'NOT_FOUND', field: 'tenantId' },
      });
    }
    for (const path of ['/v1/admin/quarantine?tenantId=Bad%2FId', '/v1/admin/billing-issues?tenantId=Bad%2FId']) {
      expect(await api(stack, 'GET', path, admin), path).toMatchObject({
        status: 400,
        body: { code: 'INVALID_REQUEST', field: 'tenantId' },
      });
    }
  });

  it('answers CORS as API Gateway is configured to: any origin, and preflights without a route', async () => {
    const res = await fetch(`${stack.apiUrl}/v1/meters`, { headers: { authorization: `Bearer ${key}`, origin: 'https://example.com' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const preflight = await fetch(`${stack.apiUrl}/v1/events`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://example.com',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
    expect(preflight.headers.get('access-control-allow-headers')).toContain('authorization');
  });
});
