import { billingReads, billingStore, tenantDirectory } from '../../shared/composition/root.js';
import { createBillingAdminApi } from './billing-admin.js';

const directory = tenantDirectory();
const store = billingStore();

export const handler = createBillingAdminApi({
  store,
  reads: billingReads(store),
  tenantExists: async (tenantId) => (await directory.getTenant(tenantId)) !== undefined,
  meters: (tenantId) => directory.listMeters(tenantId),
  now: Date.now,
});
