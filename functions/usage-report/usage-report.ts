import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { lambdaHandler } from '../../shared/platform/lambda.js';
import { logger, metrics } from '../../shared/platform/observability.js';
import type { ScheduledInvocation } from '../../shared/platform/schedule.js';
import { planReport, type ReportPlan, type ReportPlanDependencies } from '../../shared/stripe/report-slices.js';

/**
 * The daily report's planner (EventBridge, 01:00 UTC): cuts the tenants into slices onto the report queue,
 * each carrying the invocation's scheduled time; the report workers report them (functions/usage-report-worker).
 * The run id is the invocation's request id: the workers record the slices' results under it. A retried run sends
 * every slice again, which the report tolerates.
 */
export function createUsageReport(deps: Omit<ReportPlanDependencies, 'log'>) {
  return lambdaHandler<ScheduledInvocation, ReportPlan>().handler(async (invocation, context) => {
    const plan = await planReport({ ...deps, log: logger }, { runId: context.awsRequestId, now: Date.parse(invocation.time) });
    metrics.addMetric('ReportSlicesSent', MetricUnit.Count, plan.slices);
    metrics.addMetric('ReportTenantsPlanned', MetricUnit.Count, plan.tenants);
    return plan;
  });
}
