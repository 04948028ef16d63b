import type { Meter } from '../metering/meters.js';
import type { ApiKeyRecord, ApiKeySummary, KeyOwner } from './api-keys.js';
import type { RateLimitBucket, Take } from './rate-limits.js';
import type { DashboardSession } from './sessions.js';
import type { Tenant } from './tenants.js';

/** Tenants, their meters and API keys: the admin API, the authorizer and ingest use it; ./adapters/tenant-directory.ts implements it. */
export interface TenantDirectory {
  createTenant(tenant: Tenant): Promise<boolean>;
  getTenant(id: string): Promise<Tenant | undefined>;
  listTenants(): Promise<Tenant[]>;
  /** Every tenant, a page at a time (DynamoDB's pages), for jobs that must not hold them all. */
  tenantPages(): AsyncIterable<Tenant[]>;
  putMeter(tenantId: string, meter: Meter): Promise<void>;
  listMeters(tenantId: string): Promise<Meter[]>;
  putApiKey(record: ApiKeyRecord): Promise<void>;
  getApiKey(keyId: string): Promise<ApiKeyRecord | undefined>;
  listApiKeys(owner: KeyOwner): Promise<ApiKeySummary[]>;
  revokeApiKey(owner: KeyOwner, keyId: string, at: string): Promise<boolean>;
}

/** Where sessions are kept (the tenants table, next to the API keys). */
export interface SessionStore {
  putSession(session: DashboardSession): Promise<void>;
  getSession(sessionId: string): Promise<DashboardSession | undefined>;
  /** False when no such session exists or it belongs to another tenant than `tenantId` (when given). */
  revokeSession(sessionId: string, at: string, tenantId?: string): Promise<boolean>;
}

/**
 * Request counts per subject (a tenant, or a service key: `tenantSubject`, `serviceKeySubject`) and bucket, and the
 * limits an admin set per subject (./adapters/rate-limit-store.ts).
 */
export interface RateLimitStore {
  /**
   * Counts one request in the window starting at `window` (epoch seconds) unless the window is full: one conditional
   * write. The subject's own limit when an admin set one, else `defaultLimit`.
   */
  take(subject: string, bucket: RateLimitBucket, window: number, defaultLimit: number): Promise<Take>;
  /** The limits set for a subject; a bucket without one is at its default. */
  limits(subject: string): Promise<Partial<Record<RateLimitBucket, number>>>;
  /** Sets (a number) or clears (`null`) a subject's limit per bucket; buckets left out keep theirs. */
  setLimits(subject: string, limits: Partial<Record<RateLimitBucket, number | null>>): Promise<void>;
}
