import * as z from 'zod';
import { numberField } from '../kernel/json-fields.js';
import { SESSION_MINUTES } from './sessions.js';
import { tenantIdSchema } from './tenants.js';

/** The bodies of tenancy's requests: a new tenant, a new dashboard session. */
export const newTenantSchema = z.strictObject({
  id: z.optional(tenantIdSchema),
  name: z.string().min(1).max(200),
});

export const newSessionSchema = z.strictObject({
  /** Required for admin callers (absent: an operator console session); a tenant key may only name its own tenant. */
  tenantId: z.optional(tenantIdSchema),
  ttlMinutes: numberField(z.number().int().min(SESSION_MINUTES.min).max(SESSION_MINUTES.max)).default(SESSION_MINUTES.default),
});
