import { recomputeJobs, recomputeStore } from '../../shared/composition/metering.js';
import { tenantDirectory } from '../../shared/composition/tenancy.js';
import { createRecomputeWorker } from './recompute-worker.js';

const directory = tenantDirectory();

export const handler = createRecomputeWorker({
  store: recomputeStore(),
  jobs: recomputeJobs(),
  meters: (tenantId) => directory.listMeters(tenantId),
  now: Date.now,
});
