import { tableName } from '../platform/dynamo/tables.js';
import { logger } from '../platform/observability.js';
import { DynamoRateLimitStore } from '../tenancy/adapters/rate-limit-store.js';
import { DynamoTenantDirectory } from '../tenancy/adapters/tenant-directory.js';
import { createRateLimiter } from '../tenancy/rate-limits.js';
import { dynamo } from './clients.js';

export const tenantDirectory = () => new DynamoTenantDirectory(dynamo(), tableName('tenants'));

export const rateLimitStore = () => new DynamoRateLimitStore(dynamo(), tableName('rateLimits'));

/** The per-tenant rate limit every function with tenant ingest or read routes checks first (`checkedBy`). */
export const rateLimiter = () => createRateLimiter({ store: rateLimitStore(), now: Date.now, log: logger });
