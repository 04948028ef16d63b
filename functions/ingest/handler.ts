import { settings } from '../../shared/platform/config.js';
import { tenantDirectory, usageQueue, usageStore } from '../../shared/composition/root.js';
import { cachedMeters } from '../../shared/metering/meters.js';
import { createIngest } from './ingest.js';

const directory = tenantDirectory();
const store = usageStore();
const queue = usageQueue();

export const handler = createIngest({
  meters: cachedMeters((tenantId) => directory.listMeters(tenantId), 60_000),
  existing: (tenantId, ids) => store.existing(tenantId, ids),
  enqueue: (events) => queue.send(events),
  graceHours: settings().graceHours,
  now: Date.now,
});
