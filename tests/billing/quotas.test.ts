import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { quotaPeriod, quotaStatus } from '../../shared/billing/quotas.js';
import { newSubscription } from '../../shared/billing/subscriptions.js';
import { calendarMonth } from '../../shared/kernel/periods.js';
import { api, createAdminKey, createTenant, startTestStack } from '../support/stack.js';

describe('quota arithmetic', () => {
  const quota = { meter: 'api_calls', limit: '1000', updatedAt: '2026-01-01T00:00:00.000Z' };

  it('allows while usage is below the limit, and a request only if it fits whole', () => {
    expect(quotaStatus(quota, '999')).toEqual({ meter: 'api_calls', limit: '1000', usage: '999', remaining: '1', allowed: true });
    expect(quotaStatus(quota, '1000')).toMatchObject({ remaining: '0', allowed: false });
    expect(quotaStatus(quota, '1200')).toMatchObject({ remaining: '0', allowed: false });
    expect(quotaStatus(quota, '990', '10')).toMatchObject({ allowed: true });
    expect(quotaStatus(quota, '990', '11')).toMatchObject({ allowed: false });
    expect(quotaStatus({ ...quota, limit: '2.5' }, '2.25', '0.25')).toMatchObject({ remaining: '0.25', allowed: true });
  });

  it('counts in the current billing period, or the calendar month without a live subscription', () => {
    const now = Date.UTC(2026, 2, 10);
    const sub = newSubscription({
      tenantId: 't',
      planId: 'starter',
      interval: 'month',
      currency: 'USD',
      startAt: Date.UTC(2026, 0, 31),
      now: Date.UTC(2026, 0, 31),
    });
    expect(quotaPeriod(sub, now)).toMatchObject({ start: Date.UTC(2026, 1, 28), end: Date.UTC(2026, 2, 31) });
    expect(quotaPeriod(undefined, now)).toEqual(calendarMonth(now));
  });
});

describe('quotas API', () => {
  let stack: LocalStack;
  let admin: string;
  let tenant: string;
  let other: string;
  const now = () => new Date().toISOString();

  beforeAll(async () => {
    stack = await startTestStack();
    admin = await createAdminKey(stack);
    tenant = await createTenant(stack, 'quota-co');
    other = await createTenant(stack, 'quota-other');
  });
  afterAll(() => stack?.stop());

  it('only admins set quotas, on meters the tenant has, with exact decimal limits', async () => {
    const path = '/v1/admin/tenants/quota-co/quotas';
    expect(await api(stack, 'PUT', `${path}/api_calls`, tenant, { limit: '5' })).toMatchObject({ status: 403 });
    // A JSON number is read exactly, so one beyond the 18 digits a decimal may have is refused, never rounded.
    expect(await api(stack, 'PUT', `${path}/api_calls`, admin, '{"limit":1000000000000000001}')).toMatchObject({
      status: 400,
      body: { code: 'INVALID_REQUEST', field: 'limit' },
    });
    expect(await api(stack, 'PUT', `${path}/nope`, admin, { limit: '5' })).toMatchObject({ status: 404, body: { field: 'meter' } });
    expect(await api(stack, 'PUT', '/v1/admin/tenants/ghost/quotas/api_calls', admin, { limit: '5' })).toMatchObject({
      status: 404,
      body: { field: 'tenantId' },
    });
    expect(await api(stack, 'PUT', `${path}/api_calls`, admin, { limit: '5' })).toMatchObject({
      status: 200,
      body: { meter: 'api_calls', limit: '5' },
    });
    expect(await api(stack, 'PUT', `${path}/storage_gb`, admin, { limit: '100' })).toMatchObject({ status: 200 });
    expect((await api(stack, 'GET', path, admin)).body.quotas.map((q: { meter: string }) => q.meter)).toEqual(['api_calls', 'storage_gb']);
  });

  it('answers the check with usage counted from ingested events; a gauge by its current level', async () => {
    const events = [
      ...[1, 2, 3, 4].map((i) => ({ id: `call-${i}`, meter: 'api_calls', timestamp: now() })),
      { id: 'disk-1', meter: 'storage_gb', timestamp: now(), value: 120 },
      { id: 'disk-2', meter: 'storage_gb', timestamp: now(), value: 60.5 },
    ];
    expect(await api(stack, 'POST', '/v1/events', tenant, { events })).toMatchObject({ status: 202, body: { accepted: 6 } });
    await stack.drained();

    expect(await api(stack, 'GET', '/v1/quotas/api_calls', tenant)).toMatchObject({
      status: 200,
      body: { meter: 'api_calls', limit: '5', usage: '4', remaining: '1', allowed: true },
    });
    expect(await api(stack, 'GET', '/v1/quotas/api_calls?quantity=2', tenant)).toMatchObject({
      status: 200,
      body: { requested: '2', allowed: false },
    });
    // LATEST: the last reading (60.5 GB), not the peak and not GB-months.
    expect(await api(stack, 'GET', '/v1/quotas/storage_gb', tenant)).toMatchObject({
      status: 200,
      body: { usage: '60.5', remaining: '39.5', allowed: true },
    });

    await api(stack, 'POST', '/v1/events', tenant, { id: 'call-5', meter: 'api_calls', timestamp: now() });
    await stack.drained();
    expect(await api(stack, 'GET', '/v1/quotas', tenant)).toMatchObject({
      status: 200,
      body: { quotas: [{ meter: 'api_calls', usage: '5', allowed: false }, { meter: 'storage_gb' }] },
    });
  });

  it('rejects bad checks with a code and a field, and keeps tenants apart', async () => {
    expect(await api(stack, 'GET', '/v1/quotas/api_calls?quantity=-1', tenant)).toMatchObject({
      status: 400,
      body: { code: 'INVALID_REQUEST', field: 'quantity' },
    });
    expect(await api(stack, 'GET', '/v1/quotas/orders', tenant)).toMatchObject({
      status: 404,
      body: { code: 'NOT_FOUND', field: 'meter' },
    });
    // The tenant comes from the key: quota-other has no quotas, whatever it asks for.
    expect(await api(stack, 'GET', '/v1/quotas', other)).toMatchObject({ status: 200, body: { quotas: [] } });
    expect(await api(stack, 'GET', '/v1/quotas/api_calls', other)).toMatchObject({ status: 404 });
  });

  it('removes a quota', async () => {
    expect(await api(stack, 'DELETE', '/v1/admin/tenants/quota-co/quotas/storage_gb', admin)).toMatchObject({ status: 204 });
    expect(await api(stack, 'DELETE', '/v1/admin/tenants/quota-co/quotas/storage_gb', admin)).toMatchObject({ status: 404 });
    expect((await api(stack, 'GET', '/v1/quotas', tenant)).body.quotas.map((q: { meter: string }) => q.meter)).toEqual(['api_calls']);
  });
});
