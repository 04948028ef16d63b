import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import * as z from 'zod';
import { emailWorkSchema } from '../../shared/alerts/email.js';
import { type EmailOutcome, type EmailPorts, mailEvent, workEmail } from '../../shared/alerts/email-delivery.js';
import type { DomainEvent } from '../../shared/events/domain-events.js';
import { lambdaHandler } from '../../shared/platform/lambda.js';
import { logger, metrics } from '../../shared/platform/observability.js';

export interface EmailDeliveryDependencies extends EmailPorts {
  /** The addresses an SES sending event says to stop sending to (a hard bounce, a complaint). */
  suppressionsOf(detail: unknown): { address: string; reason: string }[];
}

/** What the email queue carries: events from the bus (Meterline's own, and SES's), or an email attempt due. */
const busEnvelope = z.looseObject({ source: z.string(), 'detail-type': z.string(), detail: z.unknown() });
/**
 * A Meterline domain event as far as mail needs it: kinds added after this code was written render with the
 * generic message, so the type is any name, not only the kinds the schemas here know.
 */
const mailedEvent = z.looseObject({
  id: z.string().min(1),
  type: z.string().min(1),
  tenantId: z.string(),
  occurredAt: z.iso.datetime(),
  data: z.record(z.string(), z.unknown()),
});

/**
 * The email worker, on the email queue. The bus puts every Meterline domain event there (an EventBridge rule),
 * which becomes an email per recipient; SES puts its bounces and complaints there, which suppress the address; and
 * retries come back as delayed attempts. A message that cannot be read or whose step failed is a batch item
 * failure, so SQS brings it back (an unreadable one until it reaches the DLQ).
 */
export function createEmailDelivery(deps: EmailDeliveryDependencies) {
  return lambdaHandler<SQSEvent, SQSBatchResponse>().handler(async (event, context) => {
    const outcomes: Partial<Record<EmailOutcome, number>> = {};
    const count = (o: EmailOutcome) => (outcomes[o] = (outcomes[o] ?? 0) + 1);
    const work = async (record: SQSRecord) => {
      const body = JSON.parse(record.body) as unknown;
      const envelope = busEnvelope.safeParse(body);
      if (envelope.success && envelope.data.source === 'aws.ses') {
        const at = new Date(deps.now()).toISOString();
        for (const s of deps.suppressionsOf(envelope.data.detail)) {
          await deps.store.suppress(s.address, s.reason, at);
          logger.warn('address suppressed', { reason: s.reason });
        }
      } else if (envelope.success) {
        for (const o of await mailEvent(deps, mailedEvent.parse(envelope.data.detail) as unknown as DomainEvent)) count(o);
      } else {
        count(await workEmail(deps, emailWorkSchema.parse(body)));
      }
    };
    const guarded = async (record: SQSRecord) => {
      try {
        await work(record);
      } catch (error) {
        logger.error('email step failed; the message comes back', { messageId: record.messageId, error: error as Error });
        throw error;
      }
    };
    const response = await processPartialResponse(event, guarded, new BatchProcessor(EventType.SQS), {
      context,
      throwOnFullBatchFailure: false,
    });
    metrics.addMetric('EmailsSent', MetricUnit.Count, outcomes.sent ?? 0);
    metrics.addMetric('EmailsFailed', MetricUnit.Count, outcomes.failed ?? 0);
    return response;
  });
}
