import { ClientError } from '../kernel/errors.js';
import { type TenantScope, tenantIdSchema } from './tenants.js';

/**
 * Who may call what, decided in one place. The authorizer vouches for a key and passes its role, scope
 * and tenant(s) in the request context; every route asks here (authorize, requireTenant, requireAdmin),
 * and the answer depends on what the route does, read from its route key:
 *
 * | route kind    | which routes                                         | tenant key | read-only key | service key | admin key |
 * |---------------|------------------------------------------------------|------------|---------------|-------------|-----------|
 * | `ingest`      | POST /v1/events, POST /api/v1/events                 | yes        | no            | yes         | no        |
 * | `quota-check` | GET /v1/quotas/{meter}                               | yes        | yes           | yes         | no        |
 * | `read`        | any other GET outside /v1/admin                      | yes        | yes           | no          | no        |
 * | `write`       | any other POST, PUT, PATCH, DELETE outside /v1/admin | yes        | no            | no          | no        |
 * | `admin`       | /v1/admin/...                                        | no         | no            | no          | yes       |
 * | `any-key`     | GET /v1/openapi.json                                 | yes        | yes           | yes         | yes       |
 *
 * A new route falls under the rule of its method and path, so a service key reaches nothing it was not
 * explicitly given.
 */
export type RouteKind = 'ingest' | 'quota-check' | 'read' | 'write' | 'admin' | 'any-key';

const namedRoutes: Record<string, RouteKind> = {
  'POST /v1/events': 'ingest',
  'POST /api/v1/events': 'ingest',
  'GET /v1/quotas/{meter}': 'quota-check',
  'GET /v1/openapi.json': 'any-key',
};

export function routeKind(routeKey: string): RouteKind {
  const named = namedRoutes[routeKey];
  if (named) return named;
  const [method = '', path = ''] = routeKey.split(' ');
  if (path === '/v1/admin' || path.startsWith('/v1/admin/')) return 'admin';
  return method === 'GET' || method === 'HEAD' ? 'read' : 'write';
}

/** The caller the authorizer vouched for. */
export type Caller =
  | { role: 'tenant'; keyId: string; tenantId: string; scope: TenantScope }
  | { role: 'service'; keyId: string /** Absent: every tenant. */; tenants?: ReadonlySet<string> }
  | { role: 'admin'; keyId: string };

export type CallerKind = 'tenant' | 'read-only' | 'service' | 'admin';

const allowed: Record<RouteKind, ReadonlySet<CallerKind>> = {
  ingest: new Set(['tenant', 'service']),
  'quota-check': new Set(['tenant', 'read-only', 'service']),
  read: new Set(['tenant', 'read-only']),
  write: new Set(['tenant']),
  admin: new Set(['admin']),
  'any-key': new Set(['tenant', 'read-only', 'service', 'admin']),
};

export function mayCall(kind: CallerKind, routeKey: string): boolean {
  return allowed[routeKind(routeKey)].has(kind);
}

export function callerKind(c: Caller): CallerKind {
  return c.role === 'tenant' ? (c.scope === 'read' ? 'read-only' : 'tenant') : c.role;
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
  if (role === 'tenant') {
    if (typeof ctx?.tenantId !== 'string') throw new ClientError('UNAUTHORIZED', 'the API key is not bound to a tenant');
    return { role, keyId, tenantId: ctx.tenantId, scope: ctx.scope === 'read' ? 'read' : 'full' };
  }
  if (role === 'service') {
    const tenants = typeof ctx?.tenants === 'string' ? new Set(ctx.tenants.split(',').filter(Boolean)) : undefined;
    return tenants ? { role, keyId, tenants } : { role, keyId };
  }
  return { role, keyId };
}

const refusal: Record<CallerKind, string> = {
  tenant: 'a tenant API key cannot call this route',
  'read-only': 'this API key is read-only',
  service: 'a service API key may only post usage events and check quotas',
  admin: 'an admin API key reaches only the admin routes',
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
  if (c.role === 'admin') throw new ClientError('FORBIDDEN', refusal.admin);
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
