import { DescribeTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { functionSpecs } from '../../infra/catalog.js';
import type { LocalStack } from '../../local/stack.js';
import { documentClient } from '../../shared/platform/dynamo/client.js';
import { type CallerKind, routeKind } from '../../shared/tenancy/access.js';
import { issueApiKey } from '../../shared/tenancy/api-keys.js';
import { api, createAdminKey, createTenant, directoryOf, startTestStack } from '../support/stack.js';

const routes = Object.values(functionSpecs).flatMap((spec) => spec.routes ?? []);

/**
 * The rule written out independently of shared/tenancy/access.ts, so that a change there or a handler
 * that forgets to ask is caught: service keys post usage and check quotas, read-only keys read,
 * admin keys administer, and every key may fetch the API description. Dashboard sessions: a tenant's
 * reads like a read-only key and also manages alerts and opens the billing portal; an operator's reads
 * the admin routes and starts simulations (they change no bill) and opens tenant sessions; both sign themselves out.
 */
const dashboardWrites = [
  'PUT /v1/alerts/{alertId}',
  'DELETE /v1/alerts/{alertId}',
  'POST /v1/billing/portal-sessions',
  'POST /v1/email/recipients',
  'PUT /v1/email/recipients/{address}',
  'DELETE /v1/email/recipients/{address}',
  'POST /v1/email/recipients/{address}/verify',
];
const sessionRoutes = {
  mint: 'POST /v1/dashboard/sessions',
  whoami: 'GET /v1/dashboard/session',
  end: 'DELETE /v1/dashboard/sessions/{sessionId}',
};

function expectedAllowed(kind: CallerKind, routeKey: string): boolean {
  const [method, path = ''] = routeKey.split(' ');
  if (routeKey === 'GET /v1/openapi.json') return true;
  const admin = path.startsWith('/v1/admin/');
  switch (kind) {
    case 'admin':
      return admin || Object.values(sessionRoutes).includes(routeKey);
    case 'tenant':
      return !admin;
    case 'read-only':
      return !admin && method === 'GET';
    case 'service':
      return [
        'POST /v1/events',
        'POST /api/v1/events',
        'GET /v1/quotas/{meter}',
        'GET /v1/entitlements',
        'GET /v1/entitlements/{feature}',
      ].includes(routeKey);
    case 'tenant-session':
      return (!admin && method === 'GET') || dashboardWrites.includes(routeKey) || routeKey === sessionRoutes.end;
    case 'console-session':
      return (admin && method === 'GET') || routeKey === 'POST /v1/admin/simulations' || Object.values(sessionRoutes).includes(routeKey);
  }
}

const samplePath = (path: string) =>
  path.replace(/\{(\w+)\}/g, (_, name: string) => (name === 'tenantId' ? 'acme' : name === 'meter' ? 'api_calls' : 'missing'));

describe('key scopes, route by route over HTTP', () => {
  let stack: LocalStack;
  const tokens = {} as Record<CallerKind, string>;

  beforeAll(async () => {
    stack = await startTestStack();
    tokens.tenant = await createTenant(stack, 'acme');
    const directory = directoryOf(stack);
    tokens['read-only'] = (await issueApiKey(directory, { tenantId: 'acme' }, 'dashboards', Date.now(), { scope: 'read' })).token;
    tokens.service = (await issueApiKey(directory, { service: true }, 'product', Date.now())).token;
    tokens.admin = await createAdminKey(stack);
    tokens['tenant-session'] = (await api(stack, 'POST', '/v1/dashboard/sessions', tokens.tenant, {})).body.token;
    tokens['console-session'] = (await api(stack, 'POST', '/v1/dashboard/sessions', tokens.admin, {})).body.token;
  });
  afterAll(() => stack?.stop());

  it('classifies every catalogued route', () => {
    expect(routes.length).toBeGreaterThan(30);
    const kinds = [
      'ingest',
      'quota-check',
      'read',
      'write',
      'admin',
      'admin-read',
      'any-key',
      'dashboard',
      'session-mint',
      'session',
      'session-end',
    ];
    for (const route of routes) expect(kinds).toContain(routeKind(route));
  });

  it('stores a dashboard session with its expiry as the table TTL, so DynamoDB deletes it once expired', async () => {
    const minted = (await api(stack, 'POST', '/v1/dashboard/sessions', tokens.tenant, {})).body;
    const TableName = stack.env.TENANTS_TABLE!;
    const { Item } = await documentClient(stack.dynamo).get({ TableName, Key: { pk: `SESSION#${minted.sessionId}`, sk: 'SESSION' } });
    expect(Item!.expiresAt).toBe(Date.parse(minted.expiresAt) / 1000);
    expect((await directoryOf(stack).getSession(minted.sessionId))!.expiresAt).toBe(minted.expiresAt);
    const { TimeToLiveDescription } = await stack.dynamo.send(new DescribeTimeToLiveCommand({ TableName }));
    expect(TimeToLiveDescription).toMatchObject({ AttributeName: 'expiresAt', TimeToLiveStatus: 'ENABLED' });
  });

  for (const kind of ['tenant', 'read-only', 'service', 'admin', 'tenant-session', 'console-session'] as const) {
    it(`answers a ${kind} caller on every route: through when allowed, 403 FORBIDDEN otherwise`, async () => {
      const outcomes: string[] = [];
      for (const routeKey of routes) {
        const [method, path] = routeKey.split(' ') as [string, string];
        // A service key names its tenant; other keys' tenant comes from the key and the parameter is ignored.
        const res = await api(
          stack,
          method,
          `${samplePath(path)}?tenant=acme`,
          tokens[kind],
          method === 'GET' || method === 'DELETE' ? undefined : {},
        );
        const allowed = expectedAllowed(kind, routeKey);
        const ok = allowed
          ? res.status !== 403 && res.status !== 401 && res.status < 500
          : res.status === 403 && res.body?.code === 'FORBIDDEN';
        outcomes.push(`${ok ? 'ok  ' : 'FAIL'} ${routeKey} -> ${res.status}${allowed ? '' : ' (must be 403)'}`);
      }
      expect(outcomes.filter((o) => o.startsWith('FAIL'))).toEqual([]);
    });
  }
});
