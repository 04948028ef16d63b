import { describe, expect, it } from 'vitest';
import { requireAdminTenant, requireTenant } from '../../shared/tenancy/access.js';

/** The one place scopes are enforced, called as the handlers call it, with the callers the authorizer passes on. */
const request = (routeKey: string, lambda: Record<string, unknown>, query?: Record<string, string>) => ({
  routeKey,
  requestContext: { authorizer: { lambda } },
  ...(query ? { queryStringParameters: query } : {}),
});
const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    const e = error as { code: string; field?: string; message: string };
    return [e.code, e.field, e.message];
  }
  return undefined;
};
const service = (tenants?: string) => ({ role: 'service', keyId: 'k-svc', ...(tenants !== undefined ? { tenants } : {}) });
const check = 'GET /v1/quotas/{meter}';

describe('the tenant a service key acts for', () => {
  it('is the one it names with ?tenant, when the key may act for it', () => {
    expect(requireTenant(request(check, service(), { tenant: 'acme' }))).toBe('acme');
    expect(requireTenant(request(check, service('acme,globex'), { tenant: 'globex' }))).toBe('globex');
  });

  it('must be named, as a tenant id, and be one of the tenants the key was issued for', () => {
    expect(refusal(() => requireTenant(request(check, service())))).toEqual([
      'INVALID_REQUEST',
      'tenant',
      'a service API key names the tenant: ?tenant=<tenant id>',
    ]);
    expect(refusal(() => requireTenant(request(check, service(), { tenant: 'Not A Tenant' })))?.[1]).toBe('tenant');
    expect(refusal(() => requireTenant(request(check, service('acme,globex'), { tenant: 'initech' })))).toEqual([
      'FORBIDDEN',
      'tenant',
      'this service API key may not act for tenant "initech"',
    ]);
  });

  it('is never the one a tenant key names: a tenant key acts for its own tenant', () => {
    const tenant = { role: 'tenant', keyId: 'k-1', tenantId: 'acme' };
    expect(requireTenant(request(check, tenant, { tenant: 'globex' }))).toBe('acme');
  });

  it('is refused to an admin key and to a service key on a route it was not given', () => {
    expect(refusal(() => requireTenant(request(check, { role: 'admin', keyId: 'k-admin' })))?.[0]).toBe('FORBIDDEN');
    expect(refusal(() => requireTenant(request('GET /v1/invoices', service(), { tenant: 'acme' })))).toEqual([
      'FORBIDDEN',
      undefined,
      'a service API key may only post usage events and check quotas and entitlements',
    ]);
  });
});

describe('the tenant an admin route works on', () => {
  it('is checked for an admin key, then for its form and existence, naming the field the route reads it from', async () => {
    const exists = async (id: string) => id === 'acme';
    const admin = request('GET /v1/admin/tenants/{tenantId}', { role: 'admin', keyId: 'k-admin' });
    expect(await requireAdminTenant(admin, 'acme', exists)).toBe('acme');
    await expect(requireAdminTenant(admin, 'initech', exists, 'tenants.0')).rejects.toMatchObject({
      code: 'NOT_FOUND',
      field: 'tenants.0',
    });
    await expect(requireAdminTenant(admin, undefined, exists)).rejects.toMatchObject({ code: 'INVALID_REQUEST', field: 'tenantId' });
    const tenant = request('GET /v1/admin/tenants/{tenantId}', { role: 'tenant', keyId: 'k-1', tenantId: 'acme' });
    await expect(requireAdminTenant(tenant, 'acme', exists)).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });
});
