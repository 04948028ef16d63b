import { recomputeJobs } from '../../shared/composition/metering.js';
import { tenantDirectory } from '../../shared/composition/tenancy.js';
import { settings } from '../../shared/platform/config.js';
import { createRecomputeApi } from './recompute.js';

const directory = tenantDirectory();

export const handler = createRecomputeApi({
  jobs: recomputeJobs(),
  meters: async (tenantId) => ((await directory.getTenant(tenantId)) ? directory.listMeters(tenantId) : undefined),
  ledgerRetentionDays: settings().ledgerRetentionDays,
  now: Date.now,
});
