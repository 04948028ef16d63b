import type { APIGatewayRequestAuthorizerEventV2, APIGatewaySimpleAuthorizerWithContextResult } from 'aws-lambda';
import { logger } from '../../shared/platform/observability.js';
import { type ApiKeyRecord, bearerToken, hashSecret, parseApiKey, secretMatches } from '../../shared/tenancy/tenants.js';

/** `anonymous` callers reach the route, which answers 401 with the error contract's code and reason. */
export type AuthorizerContext = {
  role: 'tenant' | 'admin' | 'service' | 'anonymous';
  keyId: string;
  tenantId?: string;
  /** Tenant keys: `full` or `read`. */
  scope?: string;
  /** Service keys limited to some tenants: their ids, comma-separated (context values are scalars). */
  tenants?: string;
  reason?: string;
};
export type AuthorizerResult = APIGatewaySimpleAuthorizerWithContextResult<AuthorizerContext>;

export interface AuthorizerDependencies {
  getApiKey(keyId: string): Promise<ApiKeyRecord | undefined>;
}

const UNKNOWN_KEY_HASH = hashSecret('no such key');

/**
 * The HTTP API's Lambda authorizer: one read of the key by its id, a constant-time hash comparison,
 * and the key's role and tenant handed to the routes as context. API Gateway caches the answer per
 * Authorization header, so a revoked key stops working within the cache TTL.
 *
 * A bad key is passed on as `anonymous` rather than denied: API Gateway's own deny answer is a bare
 * `{"message":"Forbidden"}`, and every 4xx of this API carries a machine-readable code. Every route
 * demands a tenant or admin role, so anonymous callers get no further than that 401.
 */
export function createAuthorizer(deps: AuthorizerDependencies) {
  return async (event: APIGatewayRequestAuthorizerEventV2): Promise<AuthorizerResult> => {
    const deny = (reason: string): AuthorizerResult => ({ isAuthorized: true, context: { role: 'anonymous', keyId: '', reason } });
    const parsed = parseApiKey(bearerToken(event.headers) ?? '');
    if (!parsed) return deny('the Authorization header does not hold a Meterline API key (Bearer mtl_...)');
    const record = await deps.getApiKey(parsed.keyId);
    // Hash even for unknown ids, so timing does not tell which key ids exist.
    const matches = secretMatches(parsed.secret, record?.secretHash ?? UNKNOWN_KEY_HASH);
    if (!record || !matches || record.revokedAt) {
      logger.info('api key refused', { keyId: parsed.keyId, reason: record?.revokedAt && matches ? 'revoked' : 'unknown' });
      return deny(record?.revokedAt && matches ? 'this API key has been revoked' : 'this API key is not valid');
    }
    const context: AuthorizerContext = { role: record.role, keyId: record.keyId };
    if (record.tenantId) context.tenantId = record.tenantId;
    if (record.role === 'tenant') context.scope = record.scope ?? 'full';
    if (record.tenants) context.tenants = record.tenants.join(',');
    return { isAuthorized: true, context };
  };
}
