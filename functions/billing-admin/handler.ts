import { billingStore, tenantDirectory } from '../../shared/composition/root.js';
import { createBillingAdminApi } from './billing-admin.js';

const directory = tenantDirectory();

export const handler = createBillingAdminApi({
  store: billingStore(),
  tenantExists: async (tenantId) => (await directory.getTenant(tenantId)) !== undefined,
  meters: (tenantId) => directory.listMeters(tenantId),
  now: Date.now,
});
