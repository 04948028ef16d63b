import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { type RecomputeJob, type RecomputeRunDependencies, runRecompute } from '../../shared/metering/recompute-job.js';
import { lambdaHandler } from '../../shared/platform/lambda.js';
import { logger, metrics } from '../../shared/platform/observability.js';
import type { ScheduledInvocation } from '../../shared/platform/schedule.js';

/** Longer than a run may last (the function's timeout), so a live run never loses its job to the next. */
export const LEASE_MS = 16 * 60_000;
/** A job is started only with this much of the run left; what it cannot finish, the next run does again. */
const START_MARGIN_MS = 60_000;

export interface RecomputeWorkerRun {
  jobs: Pick<RecomputeJob, 'jobId' | 'tenantId' | 'status' | 'progress'>[];
}

/**
 * Runs queued recompute jobs, one after another while the run has time. Scheduled every minute: a job runs outside
 * the request that started it, for up to the function's 15 minutes, and a run that dies leaves its job to the next
 * once the lease ends.
 */
export function createRecomputeWorker(deps: RecomputeRunDependencies) {
  return lambdaHandler<ScheduledInvocation, RecomputeWorkerRun>().handler(async (_invocation, context: Context) => {
    const run: RecomputeWorkerRun = { jobs: [] };
    while (context.getRemainingTimeInMillis() > START_MARGIN_MS) {
      const job = await deps.jobs.claim(deps.now(), LEASE_MS);
      if (!job) break;
      const done = await runRecompute(job, deps);
      logger.info('recompute job', { jobId: done.jobId, tenantId: done.tenantId, status: done.status, ...done.progress });
      run.jobs.push({ jobId: done.jobId, tenantId: done.tenantId, status: done.status, progress: done.progress });
    }
    metrics.addMetric('RecomputeJobsRun', MetricUnit.Count, run.jobs.length);
    return run;
  });
}
