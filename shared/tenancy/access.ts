import { ClientError } from '../kernel/errors.js';
import type { Role } from './tenants.js';

/**
 * Who may call what, decided in one place: the authorizer vouches for a key and passes its role and
 * tenant in the request context; routes ask for the role they need through these functions.
 */
export interface AuthorizedRequest {
  requestContext?: { authorizer?: { lambda?: Record<string, unknown> } };
}

/** The caller the authorizer vouched for. */
export interface Caller {
  role: Role;
  keyId: string;
  tenantId?: string;
}

export function caller(event: AuthorizedRequest): Caller {
  const ctx = event.requestContext?.authorizer?.lambda;
  const role = ctx?.role;
  const keyId = typeof ctx?.keyId === 'string' ? ctx.keyId : undefined;
  if ((role !== 'tenant' && role !== 'admin') || !keyId) {
    const reason = typeof ctx?.reason === 'string' ? ctx.reason : 'a valid API key is required (Authorization: Bearer <key>)';
    throw new ClientError('UNAUTHORIZED', reason);
  }
  if (role === 'tenant') {
    if (typeof ctx?.tenantId !== 'string') throw new ClientError('UNAUTHORIZED', 'the API key is not bound to a tenant');
    return { role, keyId, tenantId: ctx.tenantId };
  }
  return { role, keyId };
}

export function requireTenant(event: AuthorizedRequest): string {
  const c = caller(event);
  if (c.role !== 'tenant' || !c.tenantId) throw new ClientError('FORBIDDEN', 'this route needs a tenant API key');
  return c.tenantId;
}

export function requireAdmin(event: AuthorizedRequest): void {
  if (caller(event).role !== 'admin') throw new ClientError('FORBIDDEN', 'this route needs an admin API key');
}
