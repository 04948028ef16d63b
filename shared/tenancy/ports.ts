import type { Meter } from '../metering/meters.js';
import type { ApiKeyRecord, ApiKeySummary, KeyOwner, Tenant } from './tenants.js';

/** Tenants, their meters and API keys: the admin API, the authorizer and ingest use it; ./adapters/tenant-directory.ts implements it. */
export interface TenantDirectory {
  createTenant(tenant: Tenant): Promise<boolean>;
  getTenant(id: string): Promise<Tenant | undefined>;
  listTenants(): Promise<Tenant[]>;
  putMeter(tenantId: string, meter: Meter): Promise<void>;
  listMeters(tenantId: string): Promise<Meter[]>;
  putApiKey(record: ApiKeyRecord): Promise<void>;
  getApiKey(keyId: string): Promise<ApiKeyRecord | undefined>;
  listApiKeys(owner: KeyOwner): Promise<ApiKeySummary[]>;
  revokeApiKey(owner: KeyOwner, keyId: string, at: string): Promise<boolean>;
}
