import { billingStore } from '../../shared/composition/billing.js';
import { counterReader } from '../../shared/composition/metering.js';
import { rateLimiter, tenantDirectory } from '../../shared/composition/tenancy.js';
import { checkedBy } from '../../shared/platform/http.js';
import { createUsageApi } from './usage.js';

const directory = tenantDirectory();
const reader = counterReader();
const billing = billingStore();

export const handler = createUsageApi({
  meters: (tenantId) => directory.listMeters(tenantId),
  series: (tenantId, meter, granularity, from, to, groupKey) => reader.series(tenantId, meter, granularity, from, to, groupKey),
  groupKeys: (tenantId, meter, fromMonth, toMonth) => reader.groupKeys(tenantId, meter, fromMonth, toMonth),
  readings: (tenantId, meter, from, to) => reader.readings(tenantId, meter, from, to),
  distinctValues: (tenantId, meter, ranges, groupKey) => reader.distinctValues(tenantId, meter, ranges, groupKey),
  timeZones: async (tenantId) => (await billing.getSubscription(tenantId))?.timeZones,
  now: Date.now,
}).use(checkedBy(rateLimiter()));
