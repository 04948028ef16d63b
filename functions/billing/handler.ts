import { billingReads, billingStore, meterReader } from '../../shared/composition/root.js';
import { createBillingApi } from './billing.js';

const store = billingStore();
const reads = billingReads(store);
const reader = meterReader();

export const handler = createBillingApi({
  store,
  reads,
  quotaReads: { quantity: reads.quantity, level: (tenantId, meter, instant) => reader.level(tenantId, meter, instant) },
  now: Date.now,
});
