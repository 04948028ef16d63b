import { OpenMeter } from '@openmeter/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { issueApiKey } from '../../shared/tenancy/api-keys.js';
import { api, createAdminKey, createTenant, directoryOf, startTestStack } from '../support/stack.js';

const now = () => new Date().toISOString();
const current = async (stack: LocalStack, key: string, meter: string) =>
  (await api(stack, 'GET', '/v1/usage/current', key)).body.meters.find((m: { meter: string }) => m.meter === meter)?.value;

// One stack per file: the handlers are loaded once per process and keep the first stack's tables.
let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(() => stack?.stop());

describe('service keys and read-only keys', () => {
  let keyA: string;
  let keyB: string;
  let admin: string;
  let service: string;
  let readOnly: string;

  beforeAll(async () => {
    keyA = await createTenant(stack, 'tenant-a');
    keyB = await createTenant(stack, 'tenant-b');
    await createTenant(stack, 'tenant-c');
    admin = await createAdminKey(stack);
    const created = await api(stack, 'POST', '/v1/admin/service-keys', admin, { name: 'product', tenants: ['tenant-a', 'tenant-b'] });
    expect(created).toMatchObject({ status: 201, body: { role: 'service', tenants: ['tenant-a', 'tenant-b'] } });
    service = created.body.token;
    const ro = await api(stack, 'POST', '/v1/admin/tenants/tenant-a/api-keys', admin, { name: 'dashboards', scope: 'read' });
    expect(ro).toMatchObject({ status: 201, body: { role: 'tenant', scope: 'read' } });
    readOnly = ro.body.token;
  });

  it('posts for two tenants in one request, idempotent per (tenant, id), rejecting per event', async () => {
    const batch = [
      { id: 'e-1', tenant: 'tenant-a', meter: 'orders', timestamp: now() },
      { id: 'e-1', tenant: 'tenant-b', meter: 'orders', timestamp: now() },
      { id: 'e-2', tenant: 'tenant-b', meter: 'orders', timestamp: now() },
      { id: 'e-2', tenant: 'tenant-b', meter: 'orders', timestamp: now() },
      { specversion: '1.0', id: 'ce-1', source: 'svc', type: 'orders', tenant: 'tenant-a' },
      { id: 'e-3', tenant: 'nobody-here', meter: 'orders', timestamp: now() },
      { id: 'e-4', tenant: 'tenant-c', meter: 'orders', timestamp: now() },
      { id: 'e-5', meter: 'orders', timestamp: now() },
    ];
    const res = await api(stack, 'POST', '/v1/events', service, batch);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ accepted: 4, duplicates: 1, rejected: 3 });
    expect(res.body.results.map((r: { status: string; code?: string; tenant?: string }) => [r.tenant, r.status, r.code])).toEqual([
      ['tenant-a', 'accepted', undefined],
      ['tenant-b', 'accepted', undefined],
      ['tenant-b', 'accepted', undefined],
      ['tenant-b', 'duplicate', undefined],
      ['tenant-a', 'accepted', undefined],
      [undefined, 'rejected', 'TENANT_NOT_ALLOWED'],
      [undefined, 'rejected', 'TENANT_NOT_ALLOWED'],
      [undefined, 'rejected', 'INVALID_EVENT'],
    ]);
    await stack.drained();
    // Re-sending is safe: every id is now a duplicate of its own tenant's event.
    const again = await api(stack, 'POST', '/v1/events', service, batch.slice(0, 3));
    expect(again.body).toMatchObject({ accepted: 0, duplicates: 3 });
    expect(await current(stack, keyA, 'orders')).toBe('2');
    expect(await current(stack, keyB, 'orders')).toBe('2');
  });

  it('rejects a tenant that does not exist per event, for a key that may act for any tenant', async () => {
    const any = (await issueApiKey(directoryOf(stack), { service: true }, 'any', Date.now())).token;
    const res = await api(stack, 'POST', '/v1/events', any, [
      { id: 'x-1', tenant: 'no-such-tenant', meter: 'orders', timestamp: now() },
      { id: 'x-1', tenant: 'tenant-c', meter: 'orders', timestamp: now() },
    ]);
    expect(res.body.results.map((r: { status: string; code?: string }) => r.code ?? r.status)).toEqual(['UNKNOWN_TENANT', 'accepted']);
  });

  it('checks quotas for its tenants and reads nothing', async () => {
    await api(stack, 'PUT', '/v1/admin/tenants/tenant-a/quotas/api_calls', admin, { limit: '10' });
    expect(await api(stack, 'GET', '/v1/quotas/api_calls?tenant=tenant-a&quantity=1', service)).toMatchObject({
      status: 200,
      body: { allowed: true, limit: '10' },
    });
    expect(await api(stack, 'GET', '/v1/quotas/api_calls?tenant=tenant-c', service)).toMatchObject({
      status: 403,
      body: { code: 'FORBIDDEN' },
    });
    expect(await api(stack, 'GET', '/v1/quotas/api_calls', service)).toMatchObject({ status: 400, body: { field: 'tenant' } });
    for (const path of [
      '/v1/usage/current',
      '/v1/usage?meter=orders',
      '/v1/meters',
      '/v1/quotas',
      '/v1/invoices',
      '/v1/alerts',
      '/v1/admin/tenants',
    ]) {
      expect(await api(stack, 'GET', `${path}${path.includes('?') ? '&' : '?'}tenant=tenant-a`, service)).toMatchObject({
        status: 403,
        body: { code: 'FORBIDDEN' },
      });
    }
  });

  it('lets a read-only key read and neither post nor change anything', async () => {
    expect(await current(stack, readOnly, 'orders')).toBe('2');
    expect((await api(stack, 'GET', '/v1/quotas/api_calls', readOnly)).status).toBe(200);
    expect(await api(stack, 'POST', '/v1/events', readOnly, { id: 'r-1', meter: 'orders', timestamp: now() })).toMatchObject({
      status: 403,
      body: { code: 'FORBIDDEN' },
    });
    expect(await api(stack, 'PUT', '/v1/alerts/big', readOnly, { meter: 'orders', threshold: 5 })).toMatchObject({ status: 403 });
    expect(await api(stack, 'DELETE', '/v1/alerts/big', readOnly)).toMatchObject({ status: 403 });
    expect(await api(stack, 'POST', '/api/v1/events', readOnly, [])).toMatchObject({ status: 403 });
  });

  it('keeps a tenant key to its own tenant when an event names one', async () => {
    const res = await api(stack, 'POST', '/v1/events', keyA, [
      { id: 't-1', tenant: 'tenant-a', meter: 'orders', timestamp: now() },
      { id: 't-2', tenant: 'tenant-b', meter: 'orders', timestamp: now() },
    ]);
    expect(res.body.results.map((r: { status: string; code?: string }) => r.code ?? r.status)).toEqual(['accepted', 'TENANT_NOT_ALLOWED']);
  });
});

describe('OpenMeter-compatible ingestion with @openmeter/sdk', () => {
  let key: string;
  let service: string;
  let keyB: string;

  beforeAll(async () => {
    key = await createTenant(stack, 'om-a');
    keyB = await createTenant(stack, 'om-b');
    service = (await issueApiKey(directoryOf(stack), { service: true }, 'om', Date.now())).token;
  });

  it('takes the SDK’s events with a base URL and a tenant key, counting a retried batch once', async () => {
    const openmeter = new OpenMeter({ baseUrl: stack.apiUrl, apiKey: key });
    // Each event carries its time: the SDK stamps an event without one at each call, so a retry would be another payload
    // under the same id, refused once the first is counted (ID_REUSED).
    const events = [
      { id: 'om-1', type: 'api_calls', subject: 'customer-1', time: new Date(), data: { route: '/hello' } },
      { id: 'om-2', type: 'ai_jobs', subject: 'customer-1', time: new Date(), data: { job_type: 'estimate', value: 2 } },
    ];
    await openmeter.events.ingest(events);
    await openmeter.events.ingest(events);
    await stack.drained();
    expect(await current(stack, key, 'api_calls')).toBe('1');
  });

  it('answers a rejected event with a problem document, keeping the good ones', async () => {
    const openmeter = new OpenMeter({ baseUrl: stack.apiUrl, apiKey: key });
    const failure = await openmeter.events
      .ingest([
        { id: 'om-3', type: 'api_calls', subject: 'c' },
        { id: 'om-4', type: 'no_such_meter', subject: 'c' },
      ])
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(Error);
    const raw = await fetch(`${stack.apiUrl}/api/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify({ specversion: '1.0', id: 'om-5', source: 's', type: 'nope', subject: 'c' }),
    });
    expect(raw.status).toBe(400);
    expect(raw.headers.get('content-type')).toBe('application/problem+json');
    expect(await raw.json()).toMatchObject({ status: 400, rejected: 1, results: [{ code: 'UNKNOWN_METER' }] });
    await stack.drained();
    expect(await current(stack, key, 'api_calls')).toBe('2');
  });

  it('takes the subject as the tenant for a service key, as OpenMeter takes it as the customer', async () => {
    const openmeter = new OpenMeter({ baseUrl: stack.apiUrl, apiKey: service });
    await openmeter.events.ingest([
      { id: 's-1', type: 'api_calls', subject: 'om-a' },
      { id: 's-1', type: 'api_calls', subject: 'om-b' },
    ]);
    await stack.drained();
    expect(await current(stack, key, 'api_calls')).toBe('3');
    expect(await current(stack, keyB, 'api_calls')).toBe('1');
  });
});
