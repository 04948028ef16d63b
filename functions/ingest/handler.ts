import { billingStore, tenantDirectory, usageQueue, usageStore } from '../../shared/composition/root.js';
import { cachedMeters } from '../../shared/metering/meters.js';
import { settings } from '../../shared/platform/config.js';
import { createIngest } from './ingest.js';

const directory = tenantDirectory();
const store = usageStore();
const queue = usageQueue();
const billing = billingStore();

export const handler = createIngest({
  meters: cachedMeters((tenantId) => directory.listMeters(tenantId), 60_000),
  existing: (tenantId, ids) => store.existing(tenantId, ids),
  enqueue: (events) => queue.send(events),
  graceHours: settings().graceHours,
  invoiced: async (tenantId) => (await billing.latestInvoice(tenantId)) !== undefined,
  now: Date.now,
});
