import { invoicedCheck } from '../../shared/billing/adapters/invoiced.js';
import { dynamo } from '../../shared/composition/clients.js';
import { ledgerReader, rejectionStore, usageQueue } from '../../shared/composition/metering.js';
import { rateLimiter, tenantDirectory } from '../../shared/composition/tenancy.js';
import { cachedMeters } from '../../shared/metering/meters.js';
import { settings } from '../../shared/platform/config.js';
import { tableName } from '../../shared/platform/dynamo/tables.js';
import { checkedBy } from '../../shared/platform/http.js';
import { cachedTenantExists } from '../../shared/tenancy/tenants.js';
import { createIngest } from './ingest.js';

const directory = tenantDirectory();
const ledger = ledgerReader();
const queue = usageQueue();
const rejections = rejectionStore();

export const handler = createIngest({
  // A changed meter reaches this container within a second; a new one at once (shared/metering/meters.ts).
  meters: cachedMeters((tenantId) => directory.listMeters(tenantId), 1_000),
  tenantExists: cachedTenantExists((tenantId) => directory.getTenant(tenantId), 60_000),
  existing: (tenantId, ids) => ledger.existing(tenantId, ids),
  enqueue: (events) => queue.send(events),
  recordRejections: (batch) => rejections.record(batch),
  keptEvents: (q) => rejections.keptEvents(q),
  graceHours: settings().graceHours,
  invoiced: invoicedCheck(dynamo(), tableName('billing')),
  now: Date.now,
}).use(checkedBy(rateLimiter()));
