import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import { type HttpEvent, type HttpResult, header, json, rawBody } from '../../shared/platform/http.js';
import { logger, metrics } from '../../shared/platform/observability.js';
import { type ProviderNotification, SignatureRejected, UnprocessableNotification } from '../../shared/stripe/mirror.js';
import { actOnNotification, type NotificationDependencies } from '../../shared/stripe/notifications.js';
import type { NotificationSource } from '../../shared/stripe/ports.js';

export interface StripeWebhookDependencies extends Omit<NotificationDependencies, 'log'> {
  verify: NotificationSource['verify'];
}

/**
 * Stripe's webhooks, at a Lambda function URL. The signature is checked over the exact bytes received
 * (function URLs may base64-encode them) with a 300 s tolerance; a failure is a 400. Event types
 * Meterline does not act on get a 200 at once. An event id handled before gets a 200 and no effect.
 * Acting on an event is shared/stripe/notifications.ts. A signed event that can never be acted on (its object
 * is not what its type promises, Stripe refuses a fetch it needs, the data trips the code) is raised as an
 * UNPROCESSABLE_WEBHOOK billing issue, counted in `WebhookEventsUnprocessable` and answered 200, so Stripe stops
 * delivering it; any other failure (throttling, a network error, anything unknown) is a 500, so Stripe
 * delivers it again.
 */
export function createStripeWebhook(deps: StripeWebhookDependencies) {
  return middy<HttpEvent, HttpResult>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .handler(async (event) => {
      if (event.requestContext?.http?.method !== 'POST') return json(405, { error: 'Stripe webhooks are POSTed' }, { allow: 'POST' });
      let notification: ProviderNotification;
      try {
        notification = await deps.verify(rawBody(event), header(event, 'stripe-signature'));
      } catch (error) {
        if (error instanceof UnprocessableNotification && error.event) return unprocessable(deps, error.event, error.message);
        if (!(error instanceof SignatureRejected)) throw error;
        logger.warn('webhook rejected', { reason: error.message });
        return json(400, { error: error.message });
      }
      const { eventId, type } = notification;
      if (notification.kind === 'ignored') return json(200, { received: true, ignored: type });
      if (await deps.store.seenEvent(eventId)) return json(200, { received: true, duplicate: true });
      try {
        const outcome = await actOnNotification({ ...deps, log: logger }, notification);
        if (outcome.reconciliationMismatches > 0 || outcome.meterErrorReports > 0) {
          if (outcome.reconciliationMismatches > 0)
            metrics.addMetric('ReconciliationMismatches', MetricUnit.Count, outcome.reconciliationMismatches);
          if (outcome.meterErrorReports > 0) metrics.addMetric('MeterErrorReports', MetricUnit.Count, outcome.meterErrorReports);
          metrics.publishStoredMetrics();
        }
        await deps.store.markEventHandled(eventId, type);
      } catch (error) {
        // A TypeError here is data the code cannot read: the same bytes fail the same way on every delivery.
        if (error instanceof UnprocessableNotification || error instanceof TypeError) {
          return unprocessable(deps, { eventId, type }, (error as Error).message);
        }
        logger.error('webhook processing failed; Stripe will deliver it again', { eventId, type, error: error as Error });
        // The function answers instead of throwing, so Lambda's Errors metric never sees this: count it for the alarm.
        metrics.addMetric('WebhookFailures', MetricUnit.Count, 1);
        metrics.publishStoredMetrics();
        return json(500, { error: 'processing failed' });
      }
      return json(200, { received: true });
    });
}

/**
 * Records a signed event that no delivery can make work where operators look (a billing issue naming no tenant, listed
 * by GET /v1/admin/billing-issues?kind=UNPROCESSABLE_WEBHOOK) and answers 200. Not marked handled: once the cause is fixed, the event resent from Stripe
 * is acted on.
 */
async function unprocessable(
  deps: StripeWebhookDependencies,
  event: { eventId: string; type: string },
  reason: string,
): Promise<HttpResult> {
  logger.error('webhook event cannot be processed; answered 200 so Stripe stops delivering it', { ...event, reason });
  await deps.store.raiseIssue({
    id: `unprocessable-webhook:${event.eventId}`,
    kind: 'UNPROCESSABLE_WEBHOOK',
    subject: `Stripe event ${event.eventId} (${event.type}) cannot be processed: ${reason}`.slice(0, 500),
    details: { ...event, reason: reason.slice(0, 1000) },
    raisedAt: new Date(deps.now()).toISOString(),
  });
  metrics.addMetric('WebhookEventsUnprocessable', MetricUnit.Count, 1);
  metrics.publishStoredMetrics();
  return json(200, { received: true, unprocessable: reason });
}
