import { describe, expect, it } from 'vitest';
import { createAdminApi } from '../../functions/admin/admin.js';
import { httpEvent } from '../../local/http-event.js';
import { lambdaContext } from '../../local/lambda.js';
import type { Meter } from '../../shared/metering/meters.js';

const at = '2026-03-10T00:00:00.000Z';
const gpus: Meter = { key: 'gpus', name: 'GPUs', unit: 'GPU', aggregation: 'TIME_WEIGHTED', per: 'hour', groupBy: ['region'] };

/**
 * The admin API over a directory in memory: tenant acme with meter `gpus`, a live service key `sk_live`, a revoked one
 * `sk_gone` and a tenant key `tk_acme`; `writes` lists what reached the directory.
 */
function world() {
  const writes: string[] = [];
  const keys: Record<string, object> = {
    sk_live: { keyId: 'sk_live', role: 'service' },
    sk_gone: { keyId: 'sk_gone', role: 'service', revokedAt: at },
    tk_acme: { keyId: 'tk_acme', role: 'tenant', tenantId: 'acme' },
  };
  const api = createAdminApi({
    directory: {
      createTenant: async () => false,
      getTenant: async (id: string) => (id === 'acme' ? { id, name: 'Acme', createdAt: at } : undefined),
      listMeters: async () => [gpus],
      putMeter: async (_t: string, m: Meter) => void writes.push(`meter ${m.key}`),
      getApiKey: async (id: string) => keys[id],
      revokeApiKey: async () => false,
      putApiKey: async () => void writes.push('key'),
    } as never,
    rateLimits: { limits: async () => undefined, setLimits: async () => void writes.push('limits') } as never,
    now: () => Date.parse(at),
    newTenantId: () => 'new-tenant',
  });
  const call = async (routeKey: string, path: Record<string, string> = {}, body?: unknown) => {
    const res = await api(httpEvent({ routeKey, admin: true, path, ...(body !== undefined ? { body } : {}) }), lambdaContext('admin'));
    return { status: res.statusCode, body: res.body ? JSON.parse(res.body as string) : undefined };
  };
  return { call, writes };
}

const refusal = (status: number, code: string, field?: string) => ({
  status,
  body: { code, message: expect.any(String), ...(field ? { field } : {}) },
});

describe('admin API: refusals', () => {
  it('refuses a tenant id that is taken, naming the id', async () => {
    const res = await world().call('POST /v1/admin/tenants', {}, { id: 'acme', name: 'Acme again' });
    expect(res).toEqual(refusal(409, 'CONFLICT', 'id'));
    expect(res.body.message).toBe('tenant "acme" already exists');
  });

  it('refuses to change how an existing meter folds its events, and takes a change of its name or unit', async () => {
    const { call, writes } = world();
    const put = (body: object) => call('PUT /v1/admin/tenants/{tenantId}/meters/{meter}', { tenantId: 'acme', meter: 'gpus' }, body);
    const { key: _key, ...definition } = gpus;
    for (const change of [
      { aggregation: 'SUM', per: undefined },
      { per: 'day' },
      { groupBy: ['zone'] },
      { aggregation: 'UNIQUE_COUNT', per: undefined, valueProperty: 'gpu_id' },
    ]) {
      const res = await put({ ...definition, ...change });
      expect(res, JSON.stringify(change)).toEqual(refusal(409, 'CONFLICT', 'aggregation'));
    }
    expect(writes).toEqual([]);
    expect(await put({ ...definition, name: 'Accelerators', unit: 'accelerator' })).toMatchObject({
      status: 200,
      body: { name: 'Accelerators' },
    });
    expect(writes).toEqual(['meter gpus']);
  });

  it("answers 404 for a tenant that does not exist and for a key that is not the owner's to revoke", async () => {
    const { call } = world();
    expect(await call('GET /v1/admin/tenants/{tenantId}', { tenantId: 'initech' })).toEqual(refusal(404, 'NOT_FOUND', 'tenantId'));
    for (const [routeKey, path] of [
      ['DELETE /v1/admin/tenants/{tenantId}/api-keys/{keyId}', { tenantId: 'acme', keyId: 'k_nope' }],
      ['DELETE /v1/admin/api-keys/{keyId}', { keyId: 'k_nope' }],
      ['DELETE /v1/admin/service-keys/{keyId}', { keyId: 'k_nope' }],
    ] as const) {
      expect(await call(routeKey, path), routeKey).toEqual(refusal(404, 'NOT_FOUND', 'keyId'));
    }
  });

  it('refuses a service key for a tenant that does not exist, naming which one in the list', async () => {
    const { call, writes } = world();
    const res = await call('POST /v1/admin/service-keys', {}, { name: 'etl', tenants: ['acme', 'initech'] });
    expect(res).toEqual(refusal(404, 'NOT_FOUND', 'tenants.1'));
    expect(writes).toEqual([]);
  });

  it('sets rate limits only on a live service key: 404 for an unknown, revoked or tenant key', async () => {
    const { call, writes } = world();
    for (const keyId of ['sk_nope', 'sk_gone', 'tk_acme']) {
      expect(await call('PUT /v1/admin/service-keys/{keyId}/rate-limits', { keyId }, { requestsPerSecond: 10 }), keyId).toEqual(
        refusal(404, 'NOT_FOUND', 'keyId'),
      );
    }
    expect(writes).toEqual([]);
  });
});
