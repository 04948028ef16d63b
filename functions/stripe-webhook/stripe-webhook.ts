import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { type HttpEvent, type HttpResult, header, json, rawBody } from '../../shared/platform/http.js';
import type { Meter } from '../../shared/metering/meters.js';
import { logger, metrics } from '../../shared/platform/observability.js';
import {
  type BillingAlert,
  type InvoiceLineState,
  type InvoiceState,
  type MeterErrorReport,
  type MeterlineInvoiceLookup,
  type Mirrored,
  type ProviderNotification,
  SignatureRejected,
  type SubscriptionState,
  ordering,
  reconcile,
} from '../../shared/stripe/mirror.js';

export interface StripeWebhookDependencies {
  /** Verifies the signature over the raw body; throws SignatureRejected when it does not hold. */
  verify(rawBody: Buffer, signature: string | undefined): Promise<ProviderNotification>;
  provider: {
    subscription(id: string): Promise<SubscriptionState>;
    invoiceLines(invoiceId: string): Promise<InvoiceLineState[]>;
    eventNameOfPrice(priceId: string): Promise<string | null>;
    meterErrorReport(eventId: string): Promise<MeterErrorReport>;
  };
  store: {
    seenEvent(eventId: string): Promise<boolean>;
    markEventHandled(eventId: string, type: string): Promise<void>;
    tenantOfCustomer(customerId: string): Promise<string | undefined>;
    subscription(tenantId: string, id: string): Promise<Mirrored<SubscriptionState> | undefined>;
    putSubscription(tenantId: string, mirrored: Mirrored<SubscriptionState>): Promise<boolean>;
    invoice(tenantId: string, id: string): Promise<Mirrored<InvoiceState> | undefined>;
    putInvoice(tenantId: string, mirrored: Mirrored<InvoiceState>): Promise<boolean>;
    raiseAlert(alert: BillingAlert): Promise<void>;
  };
  meters(tenantId: string): Promise<Meter[]>;
  invoices: MeterlineInvoiceLookup;
  now(): Date;
}

/**
 * Stripe's webhooks, at a Lambda function URL. The signature is checked over the exact bytes received
 * (function URLs may base64-encode them) with a 300 s tolerance; a failure is a 400. Event types
 * Meterline does not act on get a 200 at once. An event id handled before gets a 200 and no effect;
 * events may arrive in any order, so a mirrored object only moves to a newer event's state (same
 * second: fetched from Stripe). A failure while acting on an event is a 500, so Stripe delivers it again.
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
        await act(deps, notification);
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

async function act(deps: StripeWebhookDependencies, n: Exclude<ProviderNotification, { kind: 'ignored' }>): Promise<void> {
  if (n.kind === 'meter_error_report') return meterErrorReport(deps, n.eventId);
  const customerId = n.kind === 'subscription' ? n.subscription.customerId : n.invoice.customerId;
  const tenantId = await deps.store.tenantOfCustomer(customerId);
  if (!tenantId) {
    logger.warn('webhook for a Stripe customer that is no tenant', { eventId: n.eventId, type: n.type, customerId });
    return;
  }
  if (n.kind === 'subscription') {
    const stored = await deps.store.subscription(tenantId, n.subscription.id);
    const order = ordering(stored?.eventCreated, n.created);
    if (order === 'older') return;
    const state = order === 'tie' ? await deps.provider.subscription(n.subscription.id) : n.subscription;
    await deps.store.putSubscription(tenantId, { state, eventId: n.eventId, eventCreated: n.created });
    return;
  }
  const invoice = n.moreLines ? { ...n.invoice, lines: await deps.provider.invoiceLines(n.invoice.id) } : n.invoice;
  if (ordering((await deps.store.invoice(tenantId, invoice.id))?.eventCreated, n.created) !== 'older') {
    await deps.store.putInvoice(tenantId, { state: invoice, eventId: n.eventId, eventCreated: n.created });
  }
  if (n.type === 'invoice.finalized') await reconcileInvoice(deps, tenantId, invoice);
  if (n.type === 'invoice.payment_failed') {
    await deps.store.raiseAlert({ id: `payment-failed:${invoice.id}`, tenantId, kind: 'PAYMENT_FAILED', subject: `payment of Stripe invoice ${invoice.id} failed`, details: { invoiceId: invoice.id, total: invoice.total, currency: invoice.currency }, raisedAt: deps.now().toISOString() });
  }
}

/** Stripe finalized an invoice: the usage it bills must equal Meterline's for the period (shared/stripe/mirror.ts). */
async function reconcileInvoice(deps: StripeWebhookDependencies, tenantId: string, invoice: InvoiceState): Promise<void> {
  const lines = await Promise.all(invoice.lines.map(async (line) => ({ ...line, eventName: line.priceId ? await deps.provider.eventNameOfPrice(line.priceId) : null })));
  const own = await deps.invoices.invoiceForPeriod(tenantId, invoice.periodStart * 1000);
  const mismatches = reconcile({ currency: invoice.currency, lines }, own, await deps.meters(tenantId));
  if (mismatches.length === 0) {
    logger.info('Stripe invoice reconciled', { tenantId, invoiceId: invoice.id });
    return;
  }
  logger.error('Stripe invoice differs from Meterline', { tenantId, invoiceId: invoice.id, mismatches });
  metrics.addMetric('ReconciliationMismatches', MetricUnit.Count, 1);
  metrics.publishStoredMetrics();
  await deps.store.raiseAlert({
    id: `reconciliation:${invoice.id}`,
    tenantId,
    kind: 'RECONCILIATION_MISMATCH',
    subject: `Stripe invoice ${invoice.id} differs from Meterline's for the period starting ${new Date(invoice.periodStart * 1000).toISOString()}`,
    details: { invoiceId: invoice.id, periodStart: invoice.periodStart, periodEnd: invoice.periodEnd, mismatches },
    raisedAt: deps.now().toISOString(),
  });
}

/** Stripe found invalid meter events (a thin event: the report is fetched). Identifiers name the tenant. */
async function meterErrorReport(deps: StripeWebhookDependencies, eventId: string): Promise<void> {
  const report = await deps.provider.meterErrorReport(eventId);
  const identifiers = report.errors.flatMap((e) => e.samples.map((s) => s.identifier));
  const tenants = [...new Set(identifiers.filter((id) => !id.startsWith('mtl:')).map((id) => id.split(':')[0]!))];
  logger.error('Stripe meter error report', { eventId, report });
  metrics.addMetric('MeterErrorReports', MetricUnit.Count, 1);
  metrics.publishStoredMetrics();
  const alert = { id: `meter-error:${eventId}`, kind: 'METER_ERROR_REPORT' as const, subject: report.summary, details: report, raisedAt: deps.now().toISOString() };
  if (tenants.length === 0) await deps.store.raiseAlert(alert);
  for (const tenantId of tenants) await deps.store.raiseAlert({ ...alert, tenantId });
}
