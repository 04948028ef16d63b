import { describe, expect, it } from 'vitest';
import { createDashboardSessionsApi } from '../../functions/dashboard-sessions/dashboard-sessions.js';
import { httpEvent } from '../../local/http-event.js';
import { lambdaContext } from '../../local/lambda.js';
import type { DashboardSession } from '../../shared/tenancy/sessions.js';

const now = Date.parse('2026-03-10T12:00:00Z');
/** A console session (an operator's) that expires in ten minutes. */
const console10: DashboardSession = {
  sessionId: 'c0ffee',
  secretHash: 'x',
  createdBy: 'k-admin',
  createdAt: new Date(now - 60_000).toISOString(),
  expiresAt: new Date(now + 10 * 60_000).toISOString(),
};

/** The callers as the authorizer passes them on. */
const callers = {
  tenant: { role: 'tenant', keyId: 'k-1', tenantId: 'acme' },
  readOnly: { role: 'tenant', keyId: 'k-2', tenantId: 'acme', scope: 'read' },
  tenantSession: { role: 'tenant', keyId: 'k-1', tenantId: 'acme', sessionId: 'beef' },
  service: { role: 'service', keyId: 'k-svc', tenants: 'acme' },
  admin: { role: 'admin', keyId: 'k-admin' },
  console: { role: 'admin', keyId: 'k-admin', sessionId: console10.sessionId },
};

function world() {
  const put: DashboardSession[] = [];
  const revoked: string[] = [];
  const api = createDashboardSessionsApi({
    sessions: {
      putSession: async (s) => void put.push(s),
      getSession: async (id) =>
        id === console10.sessionId ? console10 : id === 'beef' ? { ...console10, sessionId: 'beef', tenantId: 'acme' } : undefined,
      revokeSession: async (id, _at, tenantId) => {
        revoked.push(`${id}${tenantId ? ` of ${tenantId}` : ''}`);
        return id === 'beef' && (tenantId === undefined || tenantId === 'acme');
      },
    },
    getTenant: async (id) => (id === 'acme' ? { id, name: 'Acme', createdAt: console10.createdAt } : undefined),
    dashboardUrl: () => 'https://dash.example',
    now: () => now,
  });
  const call = async (
    routeKey: string,
    caller: Record<string, unknown> | undefined,
    o: { body?: unknown; path?: Record<string, string> } = {},
  ) => {
    const event = httpEvent({ routeKey, ...o });
    event.requestContext.authorizer = caller ? { lambda: caller } : (undefined as never);
    const res = await api(event, lambdaContext('dashboard-sessions'));
    return { status: res.statusCode, body: res.body ? JSON.parse(res.body as string) : undefined };
  };
  return { call, put, revoked };
}

const refusal = (status: number, code: string, field?: string) => ({
  status,
  body: { code, message: expect.any(String), ...(field ? { field } : {}) },
});

describe('dashboard sessions: opening one', () => {
  it('refuses callers that may not open sessions: a service key, a read-only key, a tenant session', async () => {
    const { call, put } = world();
    for (const caller of [callers.service, callers.readOnly, callers.tenantSession]) {
      expect(await call('POST /v1/dashboard/sessions', caller), JSON.stringify(caller)).toEqual(refusal(403, 'FORBIDDEN'));
    }
    expect(put).toEqual([]);
  });

  it("refuses a tenant key's session for another tenant, a console session's session for no tenant, and a tenant that does not exist", async () => {
    const { call, put } = world();
    expect(await call('POST /v1/dashboard/sessions', callers.tenant, { body: { tenantId: 'globex' } })).toEqual(
      refusal(403, 'FORBIDDEN', 'tenantId'),
    );
    expect(await call('POST /v1/dashboard/sessions', callers.console, { body: {} })).toEqual(refusal(400, 'INVALID_REQUEST', 'tenantId'));
    expect(await call('POST /v1/dashboard/sessions', callers.admin, { body: { tenantId: 'globex' } })).toEqual(
      refusal(404, 'NOT_FOUND', 'tenantId'),
    );
    expect(put).toEqual([]);
  });

  it('never lets a session minted by a console session outlive it', async () => {
    const { call, put } = world();
    const res = await call('POST /v1/dashboard/sessions', callers.console, { body: { tenantId: 'acme', ttlMinutes: 60 } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ tenantId: 'acme', createdBy: 'k-admin', expiresAt: console10.expiresAt });
    expect(res.body.url).toMatch(/^https:\/\/dash\.example/);
    expect(res.body.secretHash).toBeUndefined();
    expect(put[0]!.expiresAt).toBe(console10.expiresAt);
  });

  it("opens an operator console session for an admin key that names no tenant, and a tenant key's session for its own tenant", async () => {
    const { call } = world();
    const operator = await call('POST /v1/dashboard/sessions', callers.admin);
    expect(operator.status).toBe(201);
    expect(operator.body.tenantId).toBeUndefined();
    expect((await call('POST /v1/dashboard/sessions', callers.tenant)).body).toMatchObject({ tenantId: 'acme' });
  });
});

describe('dashboard sessions: who is signed in, and signing out', () => {
  it('names the tenant of a tenant key, and the session and its expiry of a session', async () => {
    const { call } = world();
    expect((await call('GET /v1/dashboard/session', callers.readOnly)).body).toEqual({
      role: 'tenant',
      tenant: { id: 'acme', name: 'Acme' },
    });
    expect((await call('GET /v1/dashboard/session', callers.console)).body).toEqual({
      role: 'admin',
      sessionId: console10.sessionId,
      expiresAt: console10.expiresAt,
    });
    expect((await call('GET /v1/dashboard/session', callers.admin)).body).toEqual({ role: 'admin' });
    expect(await call('GET /v1/dashboard/session', callers.service)).toEqual(refusal(403, 'FORBIDDEN'));
  });

  it('lets a session sign only itself out: any other id is, for it, a session that does not exist', async () => {
    const { call, revoked } = world();
    expect(await call('DELETE /v1/dashboard/sessions/{sessionId}', callers.tenantSession, { path: { sessionId: 'other' } })).toEqual(
      refusal(404, 'NOT_FOUND', 'sessionId'),
    );
    expect(revoked).toEqual([]);
    expect(await call('DELETE /v1/dashboard/sessions/{sessionId}', callers.tenantSession, { path: { sessionId: 'beef' } })).toEqual({
      status: 204,
      body: undefined,
    });
    expect(revoked).toEqual(['beef of acme']);
  });

  it("answers 404 when a tenant key revokes a session that is not its tenant's", async () => {
    const { call } = world();
    expect(await call('DELETE /v1/dashboard/sessions/{sessionId}', callers.tenant, { path: { sessionId: 'c0ffee' } })).toEqual(
      refusal(404, 'NOT_FOUND', 'sessionId'),
    );
  });
});

describe('callers the authorizer did not vouch for', () => {
  it('answers 401 for a request without a caller, or a tenant key bound to no tenant', async () => {
    const { call } = world();
    expect(await call('GET /v1/dashboard/session', undefined)).toEqual(refusal(401, 'UNAUTHORIZED'));
    expect(await call('GET /v1/dashboard/session', { role: 'tenant', keyId: 'k-1' })).toEqual(refusal(401, 'UNAUTHORIZED'));
    expect(await call('GET /v1/dashboard/session', { role: 'root', keyId: 'k-1' })).toEqual(refusal(401, 'UNAUTHORIZED'));
  });
});
