import * as z from 'zod';
import { numberField } from '../kernel/json-fields.js';
import { MAX_RATE_LIMIT } from './rate-limits.js';
import { SESSION_MINUTES } from './sessions.js';
import { tenantIdSchema } from './tenants.js';

/** The bodies of tenancy's requests: a new tenant, a new dashboard session, a tenant's rate limits. */
export const newTenantSchema = z.strictObject({
  id: z.optional(tenantIdSchema),
  name: z.string().min(1).max(200),
});

export const newSessionSchema = z.strictObject({
  /** Required for admin callers (absent: an operator console session); a tenant key may only name its own tenant. */
  tenantId: z.optional(tenantIdSchema),
  ttlMinutes: numberField(z.number().int().min(SESSION_MINUTES.min).max(SESSION_MINUTES.max)).default(SESSION_MINUTES.default),
});

const rateLimit = numberField(z.number().int().min(1).max(MAX_RATE_LIMIT)).nullable().optional();

/** An admin's setting for one tenant: requests per window per bucket; `null` returns a bucket to its default. */
export const rateLimitSettingsSchema = z
  .strictObject({ ingest: rateLimit, read: rateLimit })
  .refine((b) => b.ingest !== undefined || b.read !== undefined, 'name the limit to set: ingest, read or both');
