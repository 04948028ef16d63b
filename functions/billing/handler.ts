import { billingReads, billingStore } from '../../shared/composition/billing.js';
import { meterReader } from '../../shared/composition/metering.js';
import { rateLimiter, tenantDirectory } from '../../shared/composition/tenancy.js';
import { checkedBy } from '../../shared/platform/http.js';
import { createBillingApi } from './billing.js';

const store = billingStore();
const reads = billingReads(store);
const reader = meterReader();
const directory = tenantDirectory();

export const handler = createBillingApi({
  store,
  reads,
  quotaReads: { quantity: reads.quantity, level: (tenantId, meter, instant) => reader.level(tenantId, meter, instant) },
  tenantName: async (tenantId) => (await directory.getTenant(tenantId))?.name,
  now: Date.now,
}).use(checkedBy(rateLimiter()));
