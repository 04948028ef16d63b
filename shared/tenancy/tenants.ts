import * as z from '../kernel/zod-mini.js';
import { tenantScopes } from './api-keys.js';

export const tenantIdSchema = z.string().check(z.regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'must be 2-63 lowercase letters, digits or dashes'));

export const tenantSchema = z.object({
  id: tenantIdSchema,
  name: z.string().check(z.minLength(1), z.maxLength(200)),
  createdAt: z.string(),
});
export type Tenant = z.infer<typeof tenantSchema>;

export const tenantScopeSchema = z.enum(tenantScopes);

/** Whether a tenant exists; a found tenant is remembered for `ttlMs`, a missing one asked for again (it may be created any moment). */
export function cachedTenantExists(load: (tenantId: string) => Promise<Tenant | undefined>, ttlMs: number, now: () => number = Date.now) {
  const seen = new Map<string, number>();
  return async (tenantId: string): Promise<boolean> => {
    const at = seen.get(tenantId);
    if (at !== undefined && now() - at < ttlMs) return true;
    if (!(await load(tenantId))) return false;
    seen.set(tenantId, now());
    return true;
  };
}
