import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { UsageEvent } from '../../shared/metering/events.js';
import type { CommitOutcome } from '../../shared/metering/ports.js';
import { parseMessage } from '../../shared/metering/queue-messages.js';
import { logger, metrics } from '../../shared/platform/observability.js';

export interface ConsumerDependencies {
  commit(events: UsageEvent[]): Promise<CommitOutcome>;
  now(): number;
}

/**
 * The usage queue's consumer: folds every event of the batch into the ledger and counters, and reports
 * the messages whose events could not be written so that only those are delivered again.
 * A message that cannot be read is reported too; after the queue's receive limit it lands in the DLQ.
 */
export function createConsumer(deps: ConsumerDependencies) {
  return middy<SQSEvent, SQSBatchResponse>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .handler(async (event) => {
      const failures = new Set<string>();
      const source = new Map<UsageEvent, string>();
      for (const record of event.Records ?? []) {
        const events = parseMessage(record.body);
        if (!events) {
          logger.error('unreadable usage message', {
            messageId: record.messageId,
            receiveCount: record.attributes?.ApproximateReceiveCount,
          });
          failures.add(record.messageId);
          continue;
        }
        for (const e of events) source.set(e, record.messageId);
      }

      const outcome = await deps.commit([...source.keys()]);
      for (const e of outcome.failed) failures.add(source.get(e)!);

      const now = deps.now();
      const lag = outcome.counted.reduce((max, e) => Math.max(max, now - Date.parse(e.receivedAt)), 0);
      metrics.addMetric('EventsCounted', MetricUnit.Count, outcome.counted.length);
      metrics.addMetric('EventsDuplicate', MetricUnit.Count, outcome.duplicates.length);
      metrics.addMetric('EventsFailed', MetricUnit.Count, outcome.failed.length);
      metrics.addMetric('AggregationLag', MetricUnit.Milliseconds, lag);
      metrics.addMetric('WriteUnits', MetricUnit.Count, outcome.writeUnits);
      metrics.publishStoredMetrics();
      if (outcome.failed.length > 0) logger.warn('events left for redelivery', { failed: outcome.failed.length, messages: failures.size });

      return { batchItemFailures: [...failures].map((itemIdentifier) => ({ itemIdentifier })) };
    });
}
