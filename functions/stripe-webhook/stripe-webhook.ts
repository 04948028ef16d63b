import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import { type HttpEvent, type HttpResult, header, json, rawBody } from '../../shared/platform/http.js';
import { logger, metrics } from '../../shared/platform/observability.js';
import { type ProviderNotification, SignatureRejected } from '../../shared/stripe/mirror.js';
import { actOnNotification, type NotificationDependencies } from '../../shared/stripe/notifications.js';
import type { NotificationSource } from '../../shared/stripe/ports.js';

export interface StripeWebhookDependencies extends Omit<NotificationDependencies, 'log'> {
  verify: NotificationSource['verify'];
}

/**
 * Stripe's webhooks, at a Lambda function URL. The signature is checked over the exact bytes received
 * (function URLs may base64-encode them) with a 300 s tolerance; a failure is a 400. Event types
 * Meterline does not act on get a 200 at once. An event id handled before gets a 200 and no effect.
 * Acting on an event is shared/stripe/notifications.ts; a failure there is a 500, so Stripe delivers it again.
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
        logger.error('webhook processing failed; Stripe will deliver it again', { eventId, type, error: error as Error });
        // The function answers instead of throwing, so Lambda's Errors metric never sees this: count it for the alarm.
        metrics.addMetric('WebhookFailures', MetricUnit.Count, 1);
        metrics.publishStoredMetrics();
        return json(500, { error: 'processing failed' });
      }
      return json(200, { received: true });
    });
}
