import { ClientError } from '../kernel/errors.js';
import type { TenantScope } from './api-keys.js';
import { tenantIdSchema } from './tenants.js';

/**
 * Who may call what, decided in one place. The authorizer vouches for a key and passes its role, scope
 * and tenant(s) in the request context; every route asks here (authorize, requireTenant, requireAdmin),
 * and the answer depends on what the route does, read from its route key:
 *
 * | route kind    | which routes                                         | tenant key | read-only key | service key | admin key |
 * |---------------|------------------------------------------------------|------------|---------------|-------------|-----------|
 * | `ingest`      | POST /v1/events, POST /api/v1/events                 | yes        | no            | yes         | no        |
 * | `quota-check` | GET /v1/quotas/{meter}, GET /v1/entitlements(/{f})  | yes        | yes           | yes         | no        |
 * | `read`        | any other GET outside /v1/admin                      | yes        | yes           | no          | no        |
 * | `write`       | any other POST, PUT, PATCH, DELETE outside /v1/admin | yes        | no            | no          | no        |
 * | `admin`       | /v1/admin/...                                        | no         | no            | no          | yes       |
 * | `any-key`     | GET /v1/openapi.json                                 | yes        | yes           | yes         | yes       |
 *
 * Dashboard sessions (sessions.ts) are callers of their own: a tenant session may do what a read-only key
 * may, plus `dashboard` (its alerts, its email recipients, the billing portal); a console session (an operator's) may call the
 * admin routes that only read (`admin-read`, which takes in `POST /v1/admin/simulations`: a simulation changes nothing
 * anyone is billed, and the console starts one) and open tenant sessions. `session-mint` is for tenant and
 * admin keys and console sessions; `session` (who am I) for every key and session but service keys;
 * `session-end` (revoke, sign out) for tenant and admin keys and the sessions themselves.
 *
 * A new route falls under the rule of its method and path, so a service key reaches nothing it was not
 * explicitly given.
 */
export type RouteKind =
  | 'ingest'
  | 'quota-check'
  | 'read'
  | 'write'
  | 'admin'
  | 'admin-read'
  | 'any-key'
  | 'dashboard'
  | 'session-mint'
  | 'session'
  | 'session-end';

const namedRoutes: Record<string, RouteKind> = {
  'POST /v1/events': 'ingest',
  'POST /api/v1/events': 'ingest',
  'GET /v1/quotas/{meter}': 'quota-check',
  'GET /v1/entitlements': 'quota-check',
  'GET /v1/entitlements/{feature}': 'quota-check',
  'GET /v1/openapi.json': 'any-key',
  'PUT /v1/alerts/{alertId}': 'dashboard',
  'DELETE /v1/alerts/{alertId}': 'dashboard',
  'POST /v1/billing/portal-sessions': 'dashboard',
  'POST /v1/email/recipients': 'dashboard',
  'PUT /v1/email/recipients/{address}': 'dashboard',
  'DELETE /v1/email/recipients/{address}': 'dashboard',
  'POST /v1/email/recipients/{address}/verify': 'dashboard',
  'POST /v1/dashboard/sessions': 'session-mint',
  'GET /v1/dashboard/session': 'session',
  'DELETE /v1/dashboard/sessions/{sessionId}': 'session-end',
  'POST /v1/admin/simulations': 'admin-read',
};

export function routeKind(routeKey: string): RouteKind {
  const named = namedRoutes[routeKey];
  if (named) return named;
  const [method = '', path = ''] = routeKey.split(' ');
  if (path === '/v1/admin' || path.startsWith('/v1/admin/')) return method === 'GET' ? 'admin-read' : 'admin';
  return method === 'GET' || method === 'HEAD' ? 'read' : 'write';
}

/** The caller the authorizer vouched for. */
export type Caller =
  | { role: 'tenant'; keyId: string; tenantId: string; scope: TenantScope /** A dashboard session's id. */; sessionId?: string }
  | { role: 'service'; keyId: string /** Absent: every tenant. */; tenants?: ReadonlySet<string> }
  | { role: 'admin'; keyId: string /** A console session's id. */; sessionId?: string };

export type CallerKind = 'tenant' | 'read-only' | 'service' | 'admin' | 'tenant-session' | 'console-session';

const allowed: Record<RouteKind, ReadonlySet<CallerKind>> = {
  ingest: new Set(['tenant', 'service']),
  'quota-check': new Set(['tenant', 'read-only', 'service', 'tenant-session']),
  read: new Set(['tenant', 'read-only', 'tenant-session']),
  write: new Set(['tenant']),
  admin: new Set(['admin']),
  'admin-read': new Set(['admin', 'console-session']),
  'any-key': new Set(['tenant', 'read-only', 'service', 'admin', 'tenant-session', 'console-session']),
  dashboard: new Set(['tenant', 'tenant-session']),
  'session-mint': new Set(['tenant', 'admin', 'console-session']),
  session: new Set(['tenant', 'read-only', 'admin', 'tenant-session', 'console-session']),
  'session-end': new Set(['tenant', 'admin', 'tenant-session', 'console-session']),
};

export function mayCall(kind: CallerKind, routeKey: string): boolean {
  return allowed[routeKind(routeKey)].has(kind);
}

export function callerKind(c: Caller): CallerKind {
  if (c.role === 'tenant') return c.sessionId ? 'tenant-session' : c.scope === 'read' ? 'read-only' : 'tenant';
  return c.role === 'admin' && c.sessionId ? 'console-session' : c.role;
}

export interface AuthorizedRequest {
  routeKey?: string;
  queryStringParameters?: Record<string, string | undefined> | null;
  requestContext?: { authorizer?: { lambda?: Record<string, unknown> } };
}

function callerOf(event: AuthorizedRequest): Caller {
  const ctx = event.requestContext?.authorizer?.lambda;
  const role = ctx?.role;
  const keyId = typeof ctx?.keyId === 'string' ? ctx.keyId : undefined;
  // The authorizer denies bad keys before any route runs; this only holds for a request that bypassed it.
  if ((role !== 'tenant' && role !== 'admin' && role !== 'service') || !keyId) {
    throw new ClientError('UNAUTHORIZED', 'a valid API key is required (Authorization: Bearer <key>)');
  }
  const session = typeof ctx?.sessionId === 'string' ? { sessionId: ctx.sessionId } : {};
  if (role === 'tenant') {
    if (typeof ctx?.tenantId !== 'string') throw new ClientError('UNAUTHORIZED', 'the API key is not bound to a tenant');
    return { role, keyId, tenantId: ctx.tenantId, scope: ctx.scope === 'read' ? 'read' : 'full', ...session };
  }
  if (role === 'service') {
    const tenants = typeof ctx?.tenants === 'string' ? new Set(ctx.tenants.split(',').filter(Boolean)) : undefined;
    return tenants ? { role, keyId, tenants } : { role, keyId };
  }
  return { role, keyId, ...session };
}

const refusal: Record<CallerKind, string> = {
  tenant: 'a tenant API key cannot call this route',
  'read-only': 'this API key is read-only',
  service: 'a service API key may only post usage events and check quotas and entitlements',
  admin: 'an admin API key reaches only the admin routes',
  'tenant-session': 'a dashboard session may read and manage alerts only; this route needs an API key',
  'console-session': 'a console session may read the admin routes and open tenant sessions only',
};

/** The caller, once it is known that it may call this route (401 without a valid key, 403 without the right). */
export function authorize(event: AuthorizedRequest): Caller {
  const c = callerOf(event);
  const kind = callerKind(c);
  if (!mayCall(kind, event.routeKey ?? '')) throw new ClientError('FORBIDDEN', refusal[kind]);
  return c;
}

/** Whether a service key (or a tenant key, for its own tenant) may act for `tenantId`. */
export function actsFor(c: Caller, tenantId: string): boolean {
  if (c.role === 'tenant') return c.tenantId === tenantId;
  if (c.role === 'service') return !c.tenants || c.tenants.has(tenantId);
  return false;
}

/**
 * The tenant a route works on: a tenant key's own; for a service key the `tenant` query parameter, which
 * the key must be allowed to act for.
 */
export function requireTenant(event: AuthorizedRequest): string {
  const c = authorize(event);
  if (c.role === 'tenant') return c.tenantId;
  if (c.role === 'admin') throw new ClientError('FORBIDDEN', refusal[callerKind(c)]);
  const named = event.queryStringParameters?.tenant;
  const parsed = tenantIdSchema.safeParse(named);
  if (!parsed.success) throw new ClientError('INVALID_REQUEST', 'a service API key names the tenant: ?tenant=<tenant id>', 'tenant');
  if (!actsFor(c, parsed.data))
    throw new ClientError('FORBIDDEN', `this service API key may not act for tenant "${parsed.data}"`, 'tenant');
  return parsed.data;
}

export function requireAdmin(event: AuthorizedRequest): void {
  if (authorize(event).role !== 'admin') throw new ClientError('FORBIDDEN', 'this route needs an admin API key');
}

/**
 * The tenant an admin route works on (`{tenantId}` in its path, or a query parameter): checked for an admin key, then
 * 400 when it is not a tenant id and 404 NOT_FOUND when no such tenant exists, so no admin route acts on, or answers
 * for, a tenant that is not there.
 */
export async function requireAdminTenant(
  event: AuthorizedRequest,
  tenantId: string | undefined,
  exists: (tenantId: string) => Promise<boolean>,
  field = 'tenantId',
): Promise<string> {
  requireAdmin(event);
  const parsed = tenantIdSchema.safeParse(tenantId);
  if (!parsed.success) throw new ClientError('INVALID_REQUEST', 'a tenant id is 2-63 lowercase letters, digits or dashes', field);
  if (!(await exists(parsed.data))) throw new ClientError('NOT_FOUND', `tenant "${parsed.data}" does not exist`, field);
  return parsed.data;
}
