import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { logger, metrics } from '../../shared/platform/observability.js';
import { type ReportSlice, reportSliceSchema } from '../../shared/stripe/report-slices.js';
import { reportSlice, type UsageReportDependencies } from '../../shared/stripe/usage-report.js';

/**
 * The report worker, on the report queue: reports each slice of tenants (shared/stripe/usage-report.ts) and
 * emits its summary. Tenants' failures are the slice's result (recorded, announced, counted in ReportFailures),
 * not a retry; a slice that could not run or record its result is reported in batchItemFailures, so SQS brings it
 * back, and its second delivery sends only what the first did not.
 */
export function createUsageReportWorker(deps: Omit<UsageReportDependencies, 'log'>) {
  return middy<SQSEvent, SQSBatchResponse>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .handler(async (event) => {
      const failures: { itemIdentifier: string }[] = [];
      // One slice per batch (infra/catalog.ts), so one after another is the same as at once.
      for (const record of event.Records) {
        let slice: ReportSlice;
        try {
          slice = reportSliceSchema.parse(JSON.parse(record.body));
        } catch (error) {
          // Never readable, whatever the retries: it reaches the DLQ after maxReceiveCount, where the alarm shows it.
          logger.error('unreadable report slice', { messageId: record.messageId, error: error as Error });
          failures.push({ itemIdentifier: record.messageId });
          continue;
        }
        try {
          const summary = await reportSlice({ ...deps, log: logger }, slice);
          metrics.addMetric('ReportFailures', MetricUnit.Count, summary.failed);
          metrics.addMetric('MeterEventsSent', MetricUnit.Count, summary.sent);
          metrics.publishStoredMetrics();
          logger.info('usage report slice finished', {
            runId: slice.runId,
            slice: slice.slice,
            sent: summary.sent,
            skipped: summary.skipped,
            failed: summary.failed,
            paused: summary.paused,
            tenants: summary.tenants,
          });
        } catch (error) {
          logger.error('usage report slice failed; the message comes back', {
            runId: slice.runId,
            slice: slice.slice,
            error: error as Error,
          });
          failures.push({ itemIdentifier: record.messageId });
        }
      }
      return { batchItemFailures: failures };
    });
}
