import { fleetReads, simulationJobs } from '../../shared/composition/billing.js';
import { createSimulationWorker } from './simulation-worker.js';

export const handler = createSimulationWorker({ jobs: simulationJobs(), fleet: fleetReads(), now: Date.now });
