import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Tenant keys reach one tenant's data; admin keys manage tenants and reach none of their usage routes;
 * service keys are a product service's: they post usage and check quotas for the tenants they name, and read nothing.
 */
export type Role = 'tenant' | 'admin' | 'service';

/** A tenant key reads and changes its tenant's data (`full`) or only reads it (`read`: dashboards, reporting tools). */
export const tenantScopes = ['full', 'read'] as const;
export type TenantScope = (typeof tenantScopes)[number];

export interface ApiKeyRecord {
  keyId: string;
  role: Role;
  tenantId?: string;
  /** Tenant keys only; absent means `full`. */
  scope?: TenantScope;
  /** Service keys only: the tenants it may act for; absent means every tenant. */
  tenants?: string[];
  name: string;
  /** SHA-256 of the secret. The secret is 256 random bits, so a fast hash is as strong as a slow one. */
  secretHash: string;
  createdAt: string;
  revokedAt?: string;
}

/** What a caller may see of a key: never its hash. */
export type ApiKeySummary = Omit<ApiKeyRecord, 'secretHash'>;

const TOKEN = /^mtl_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export function generateApiKey(): { keyId: string; token: string; secretHash: string } {
  const keyId = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { keyId, token: `mtl_${keyId}_${secret}`, secretHash: hashSecret(secret) };
}

export function parseApiKey(token: string): { keyId: string; secret: string } | undefined {
  const m = TOKEN.exec(token);
  return m ? { keyId: m[1]!, secret: m[2]! } : undefined;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Constant-time comparison, so response timing reveals nothing about how much of a secret matched. */
export function secretMatches(secret: string, secretHash: string): boolean {
  const actual = Buffer.from(hashSecret(secret), 'hex');
  const expected = Buffer.from(secretHash, 'hex');
  return expected.length === actual.length && timingSafeEqual(actual, expected);
}

/** The bearer token of an Authorization header, whatever the header's case. */
export function bearerToken(headers: Record<string, string | undefined> | undefined): string | undefined {
  if (!headers) return undefined;
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() === 'authorization' && value) {
      const m = /^Bearer\s+(\S+)$/i.exec(value.trim());
      return m?.[1];
    }
  }
  return undefined;
}

/** A tenant's keys, the admin keys, or the service keys. */
export type KeyOwner = { tenantId: string } | { admin: true } | { service: true };

export function ownerOf(record: Pick<ApiKeyRecord, 'role' | 'tenantId'>): KeyOwner {
  if (record.role === 'service') return { service: true };
  return record.tenantId ? { tenantId: record.tenantId } : { admin: true };
}

export interface KeyOptions {
  /** Tenant keys: `read` makes a read-only key. */
  scope?: TenantScope;
  /** Service keys: the tenants it may act for (every tenant when absent). */
  tenants?: string[];
}

/** Creates a key for `owner`; the token is returned once and never stored. */
export async function issueApiKey(
  directory: { putApiKey(record: ApiKeyRecord): Promise<void> },
  owner: KeyOwner,
  name: string,
  /** Epoch milliseconds. */
  now: number,
  options: KeyOptions = {},
): Promise<{ token: string; key: ApiKeySummary }> {
  const { keyId, token, secretHash } = generateApiKey();
  const record: ApiKeyRecord = {
    keyId,
    name,
    secretHash,
    createdAt: new Date(now).toISOString(),
    ...('tenantId' in owner
      ? { role: 'tenant' as const, tenantId: owner.tenantId, scope: options.scope ?? 'full' }
      : 'service' in owner
        ? { role: 'service' as const, ...(options.tenants ? { tenants: [...new Set(options.tenants)].sort() } : {}) }
        : { role: 'admin' as const }),
  };
  await directory.putApiKey(record);
  const { secretHash: _hidden, ...key } = record;
  return { token, key };
}
