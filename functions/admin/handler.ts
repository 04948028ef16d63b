import { randomBytes } from 'node:crypto';
import { tenantDirectory } from '../../shared/composition/tenancy.js';
import { createAdminApi } from './admin.js';

export const handler = createAdminApi({
  directory: tenantDirectory(),
  now: Date.now,
  newTenantId: () => `tn-${randomBytes(6).toString('hex')}`,
});
