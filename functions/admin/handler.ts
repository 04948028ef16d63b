import { randomBytes } from 'node:crypto';
import { rateLimitStore, tenantDirectory } from '../../shared/composition/tenancy.js';
import { createAdminApi } from './admin.js';

export const handler = createAdminApi({
  directory: tenantDirectory(),
  rateLimits: rateLimitStore(),
  now: Date.now,
  newTenantId: () => `tn-${randomBytes(6).toString('hex')}`,
});
