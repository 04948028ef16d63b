import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { type DeliveryOutcome, type DeliveryPorts, workDelivery } from '../../shared/alerts/notifications.js';
import { type DeliveryMessage, deliveryMessageSchema } from '../../shared/alerts/webhooks.js';
import { lambdaHandler } from '../../shared/platform/lambda.js';
import { logger, metrics } from '../../shared/platform/observability.js';

/**
 * The webhook delivery worker, on the delivery queue: one attempt per message, the batch's messages at once. A
 * message that cannot be read, whose attempt could not be recorded or whose retry could not be queued is a batch
 * item failure, so SQS brings it back (an unreadable one until it reaches the DLQ, whose alarm shows it).
 */
export function createWebhookDelivery(ports: DeliveryPorts) {
  return lambdaHandler<SQSEvent, SQSBatchResponse>().handler(async (event, context) => {
    const outcomes: Partial<Record<DeliveryOutcome, number>> = {};
    const deliver = async (record: SQSRecord) => {
      const message = readMessage(record);
      try {
        const outcome = await workDelivery(ports, message);
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      } catch (error) {
        logger.error('delivery step failed; the message comes back', { deliveryId: message.deliveryId, error: error as Error });
        throw error;
      }
    };
    // A processor per invocation: it keeps the batch's records and failures, and the local runtime may run two at once.
    const response = await processPartialResponse(event, deliver, new BatchProcessor(EventType.SQS), {
      context,
      throwOnFullBatchFailure: false,
    });
    metrics.addMetric('WebhooksDelivered', MetricUnit.Count, outcomes.delivered ?? 0);
    metrics.addMetric('WebhookDeliveriesFailed', MetricUnit.Count, outcomes.failed ?? 0);
    return response;
  });
}

function readMessage(record: SQSRecord): DeliveryMessage {
  try {
    return deliveryMessageSchema.parse(JSON.parse(record.body));
  } catch (error) {
    logger.error('unreadable delivery message', { messageId: record.messageId, error: error as Error });
    throw error;
  }
}
