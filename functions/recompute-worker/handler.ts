import { recomputeJobs, recomputeStore, tenantDirectory } from '../../shared/composition/root.js';
import { createRecomputeWorker } from './recompute-worker.js';

const directory = tenantDirectory();

export const handler = createRecomputeWorker({
  store: recomputeStore(),
  jobs: recomputeJobs(),
  meters: (tenantId) => directory.listMeters(tenantId),
  now: Date.now,
});
