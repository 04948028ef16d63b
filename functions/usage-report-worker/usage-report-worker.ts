import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { lambdaHandler } from '../../shared/platform/lambda.js';
import { logger, metrics } from '../../shared/platform/observability.js';
import { type ReportSlice, reportSliceSchema } from '../../shared/stripe/report-slices.js';
import { reportSlice, type UsageReportDependencies } from '../../shared/stripe/usage-report.js';

/**
 * The report worker, on the report queue: reports each slice of tenants (shared/stripe/usage-report.ts) and
 * emits its summary. Tenants' failures are the slice's result (recorded, announced, counted in ReportFailures),
 * not a retry; a slice that could not be read, run or have its result recorded is a batch item failure, so SQS
 * brings it back, and its second delivery sends only what the first did not.
 */
export function createUsageReportWorker(deps: Omit<UsageReportDependencies, 'log'>) {
  const report = async (record: SQSRecord) => {
    const slice = readSlice(record);
    try {
      const summary = await reportSlice({ ...deps, log: logger }, slice);
      metrics.addMetric('ReportFailures', MetricUnit.Count, summary.failed);
      metrics.addMetric('MeterEventsSent', MetricUnit.Count, summary.sent);
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
      logger.error('usage report slice failed; the message comes back', { runId: slice.runId, slice: slice.slice, error: error as Error });
      throw error;
    }
  };
  // One slice per batch (infra/catalog.ts), so one after another is the same as at once.
  return lambdaHandler<SQSEvent, SQSBatchResponse>().handler((event, context) =>
    processPartialResponse(event, report, new BatchProcessor(EventType.SQS), {
      context,
      throwOnFullBatchFailure: false,
      processInParallel: false,
    }),
  );
}

function readSlice(record: SQSRecord): ReportSlice {
  try {
    return reportSliceSchema.parse(JSON.parse(record.body));
  } catch (error) {
    // Never readable, whatever the retries: it reaches the DLQ after maxReceiveCount, where the alarm shows it.
    logger.error('unreadable report slice', { messageId: record.messageId, error: error as Error });
    throw error;
  }
}
