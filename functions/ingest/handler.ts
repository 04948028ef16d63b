import { rejectionStore, usageQueue, usageStore } from '../../shared/composition/metering.js';
import { tenantDirectory } from '../../shared/composition/tenancy.js';
import { cachedMeters } from '../../shared/metering/meters.js';
import { settings } from '../../shared/platform/config.js';
import { cachedTenantExists } from '../../shared/tenancy/tenants.js';
import { createIngest } from './ingest.js';

const directory = tenantDirectory();
const store = usageStore();
const queue = usageQueue();
const rejections = rejectionStore();

export const handler = createIngest({
  meters: cachedMeters((tenantId) => directory.listMeters(tenantId), 60_000),
  tenantExists: cachedTenantExists((tenantId) => directory.getTenant(tenantId), 60_000),
  existing: (tenantId, ids) => store.existing(tenantId, ids),
  enqueue: (events) => queue.send(events),
  recordRejections: (batch) => rejections.record(batch),
  graceHours: settings().graceHours,
  // Asked only by an admin's first import: billing's adapter loads then, never on the posting path's cold start.
  invoiced: async (tenantId) => {
    const { billingStore } = await import('../../shared/composition/billing.js');
    return (await billingStore().latestInvoice(tenantId)) !== undefined;
  },
  now: Date.now,
});
