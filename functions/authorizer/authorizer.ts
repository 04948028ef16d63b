import type { APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { logger } from '../../shared/platform/observability.js';
import { type ApiKeyRecord, bearerToken, hashSecret, parseApiKey, secretMatches } from '../../shared/tenancy/tenants.js';

/** What the routes learn about an authorized caller (`requestContext.authorizer.lambda`). */
export type AuthorizerContext = {
  role: 'tenant' | 'admin' | 'service';
  keyId: string;
  tenantId?: string;
  /** Tenant keys: `full` or `read`. */
  scope?: string;
  /** Service keys limited to some tenants: their ids, comma-separated (context values are scalars). */
  tenants?: string;
};
/** API Gateway's simple response: a denied request carries no context and never reaches a route. */
export type AuthorizerResult = { isAuthorized: true; context: AuthorizerContext } | { isAuthorized: false };

export interface AuthorizerDependencies {
  getApiKey(keyId: string): Promise<ApiKeyRecord | undefined>;
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
    const parsed = parseApiKey(bearerToken(event.headers) ?? '');
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
