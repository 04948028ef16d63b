import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { type FleetSimulationJob, runFleetSimulation } from '../../shared/billing/fleet-simulation-job.js';
import type { FleetReads, FleetSimulationJobs } from '../../shared/billing/ports.js';
import { lambdaHandler } from '../../shared/platform/lambda.js';
import { logger, metrics } from '../../shared/platform/observability.js';
import type { ScheduledInvocation } from '../../shared/platform/schedule.js';

/** Longer than a run may last (the function's timeout), so a live run never loses its job to the next. */
export const LEASE_MS = 16 * 60_000;
/** A page is started only with this much of the run left: a page of 100 tenants takes well under a second. */
const PAGE_MARGIN_MS = 30_000;

export interface SimulationWorkerDependencies {
  jobs: FleetSimulationJobs;
  fleet: FleetReads;
  now(): number;
}

export interface SimulationWorkerRun {
  jobs: Pick<FleetSimulationJob, 'jobId' | 'status' | 'progress'>[];
}

/**
 * Runs queued fleet simulations, one after another while the run has time. Scheduled every minute: a job runs outside
 * the request that started it, page by page; one that outlasts a run is taken up by the next, and a run that dies
 * leaves its job to the next once the lease ends.
 */
export function createSimulationWorker(deps: SimulationWorkerDependencies) {
  return lambdaHandler<ScheduledInvocation, SimulationWorkerRun>().handler(async (_invocation, context: Context) => {
    const run: SimulationWorkerRun = { jobs: [] };
    const hasTime = () => context.getRemainingTimeInMillis() > PAGE_MARGIN_MS;
    while (hasTime()) {
      const job = await deps.jobs.claim(deps.now(), LEASE_MS);
      if (!job) break;
      const done = await runFleetSimulation(job, { jobs: deps.jobs, fleet: deps.fleet, now: deps.now, hasTime });
      logger.info('fleet simulation', { jobId: done.jobId, status: done.status, ...done.progress });
      run.jobs.push({ jobId: done.jobId, status: done.status, progress: done.progress });
      if (done.status === 'running') break;
    }
    metrics.addMetric('SimulationJobsRun', MetricUnit.Count, run.jobs.length);
    return run;
  });
}
