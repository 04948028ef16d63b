import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import { logger, metrics } from '../../shared/platform/observability.js';
import type { ScheduledInvocation } from '../../shared/platform/schedule.js';
import { type ReportSummary, reportUsage, type UsageReportDependencies } from '../../shared/stripe/usage-report.js';

/** The daily report (EventBridge, 01:00 UTC), run at the invocation's scheduled time (shared/stripe/usage-report.ts). */
export function createUsageReport(deps: Omit<UsageReportDependencies, 'log'>) {
  return middy<ScheduledInvocation, ReportSummary>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .handler(async (invocation) => {
      const summary = await reportUsage({ ...deps, log: logger }, Date.parse(invocation.time));
      metrics.addMetric('ReportFailures', MetricUnit.Count, summary.failed);
      metrics.addMetric('MeterEventsSent', MetricUnit.Count, summary.sent);
      metrics.publishStoredMetrics();
      logger.info('usage report finished', {
        sent: summary.sent,
        skipped: summary.skipped,
        failed: summary.failed,
        tenants: summary.tenants,
      });
      return summary;
    });
}
