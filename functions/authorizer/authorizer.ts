import type { APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { logger } from '../../shared/platform/observability.js';
import { type ApiKeyRecord, bearerToken, hashSecret, parseApiKey, secretMatches } from '../../shared/tenancy/api-keys.js';
import { type DashboardSession, parseSessionToken, sessionRefusal } from '../../shared/tenancy/sessions.js';

/** What the routes learn about an authorized caller (`requestContext.authorizer.lambda`). */
export type AuthorizerContext = {
  role: 'tenant' | 'admin' | 'service';
  keyId: string;
  tenantId?: string;
  /** Tenant keys: `full` or `read`. */
  scope?: string;
  /** Service keys limited to some tenants: their ids, comma-separated (context values are scalars). */
  tenants?: string;
  /** Dashboard sessions: the session's id (access.ts gives sessions their own, narrower rights). */
  sessionId?: string;
};
/** API Gateway's simple response: a denied request carries no context and never reaches a route. */
export type AuthorizerResult = { isAuthorized: true; context: AuthorizerContext } | { isAuthorized: false };

export interface AuthorizerDependencies {
  getApiKey(keyId: string): Promise<ApiKeyRecord | undefined>;
  getSession(sessionId: string): Promise<DashboardSession | undefined>;
}

const UNKNOWN_KEY_HASH = hashSecret('no such key');

/**
 * The HTTP API's Lambda authorizer: one read of the key by its id, a constant-time hash comparison,
 * and the key's role and tenant handed to the routes as context. API Gateway caches the answer (a deny
 * too) per Authorization header, so a revoked key stops working within the cache TTL.
 *
 * A malformed, unknown or revoked key is denied: API Gateway answers 403 `{"message":"Forbidden"}` itself
 * and no route function runs, so a flood of bad keys costs an authorizer invocation per distinct header
 * and never takes concurrency from the functions behind the routes. Why a key was refused is logged here.
 */
export function createAuthorizer(deps: AuthorizerDependencies) {
  return async (event: APIGatewayRequestAuthorizerEventV2): Promise<AuthorizerResult> => {
    const deny = (reason: string, keyId?: string): AuthorizerResult => {
      logger.info('api key refused', { reason, ...(keyId ? { keyId } : {}) });
      return { isAuthorized: false };
    };
    const token = bearerToken(event.headers) ?? '';
    const session = parseSessionToken(token);
    if (session) {
      // A dashboard session: the same constant-time check, then its expiry and revocation.
      const record = await deps.getSession(session.sessionId);
      const matches = secretMatches(session.secret, record?.secretHash ?? UNKNOWN_KEY_HASH);
      if (!record || !matches) return deny('unknown session', session.sessionId);
      const refused = sessionRefusal(record, Date.now());
      if (refused) return deny(refused, session.sessionId);
      const who = record.tenantId ? { role: 'tenant' as const, tenantId: record.tenantId, scope: 'read' } : { role: 'admin' as const };
      return { isAuthorized: true, context: { ...who, keyId: `session:${record.sessionId}`, sessionId: record.sessionId } };
    }
    const parsed = parseApiKey(token);
    if (!parsed) return deny('malformed');
    const record = await deps.getApiKey(parsed.keyId);
    // Hash even for unknown ids, so timing does not tell which key ids exist.
    const matches = secretMatches(parsed.secret, record?.secretHash ?? UNKNOWN_KEY_HASH);
    if (!record || !matches) return deny('unknown', parsed.keyId);
    if (record.revokedAt) return deny('revoked', parsed.keyId);
    const context: AuthorizerContext = { role: record.role, keyId: record.keyId };
    if (record.tenantId) context.tenantId = record.tenantId;
    if (record.role === 'tenant') context.scope = record.scope ?? 'full';
    if (record.tenants) context.tenants = record.tenants.join(',');
    return { isAuthorized: true, context };
  };
}
