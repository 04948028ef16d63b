import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { type DeliveryOutcome, type DeliveryPorts, workDelivery } from '../../shared/alerts/notifications.js';
import { type DeliveryMessage, deliveryMessageSchema } from '../../shared/alerts/webhooks.js';
import { mapLimit } from '../../shared/kernel/batching.js';
import { logger, metrics } from '../../shared/platform/observability.js';

/**
 * The webhook delivery worker, on the delivery queue: one attempt per message. A message that cannot be
 * read is dropped with an error log (no retry makes it readable); one whose attempt could not be recorded
 * or whose retry could not be queued is reported in batchItemFailures, so SQS brings it back.
 */
export function createWebhookDelivery(ports: DeliveryPorts) {
  return middy<SQSEvent, SQSBatchResponse>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .handler(async (event) => {
      const failures: { itemIdentifier: string }[] = [];
      const outcomes: Partial<Record<DeliveryOutcome, number>> = {};
      await mapLimit(event.Records, 10, async (record) => {
        let message: DeliveryMessage;
        try {
          message = deliveryMessageSchema.parse(JSON.parse(record.body));
        } catch (error) {
          // Never readable, whatever the retries: it reaches the DLQ after maxReceiveCount, where the alarm shows it.
          logger.error('unreadable delivery message', { messageId: record.messageId, error: error as Error });
          failures.push({ itemIdentifier: record.messageId });
          return;
        }
        try {
          const outcome = await workDelivery(ports, message);
          outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
        } catch (error) {
          logger.error('delivery step failed; the message comes back', { deliveryId: message.deliveryId, error: error as Error });
          failures.push({ itemIdentifier: record.messageId });
        }
      });
      metrics.addMetric('WebhooksDelivered', MetricUnit.Count, outcomes.delivered ?? 0);
      metrics.addMetric('WebhookDeliveriesFailed', MetricUnit.Count, outcomes.failed ?? 0);
      metrics.publishStoredMetrics();
      return { batchItemFailures: failures };
    });
}
