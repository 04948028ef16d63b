import { type DomainEvent, domainEvent } from '../events/domain-events.js';
import { Dec } from '../kernel/decimal.js';
import type { Log } from '../kernel/log.js';
import { minorPerMajor } from '../kernel/money.js';
import type { Meter } from '../metering/meters.js';
import { type InvoiceState, ordering, type ProviderNotification, reconcile } from './mirror.js';
import type { MeterlineInvoiceLookup, MirrorStore, NotificationSource } from './ports.js';

export interface NotificationDependencies {
  provider: Omit<NotificationSource, 'verify'>;
  store: MirrorStore;
  meters(tenantId: string): Promise<Meter[]>;
  invoices: MeterlineInvoiceLookup;
  /** Announces what a person must hear of (`reconciliation.mismatch`, `stripe.report_failed`) to the tenant's endpoints and the bus. */
  publish(event: DomainEvent): Promise<void>;
  /** Epoch milliseconds. */
  now(): number;
  /** Hours after a period ends during which Meterline still counts late events for it (GRACE_PERIOD_HOURS). */
  graceHours: number;
  log: Log;
}

/** After the grace window, the hourly invoice job's next run issues the invoice and sends its lines; one more as slack. */
const DRAFT_HOLD_MARGIN_HOURS = 2;

/** What the caller counts: reconciliations that found differences, meter error reports received. */
export interface NotificationOutcome {
  reconciliationMismatches: number;
  meterErrorReports: number;
}

/**
 * Acting on a verified Stripe webhook: mirror the subscription or invoice it carries, reconcile a
 * finalized invoice against Meterline's own, raise a billing issue for a failed payment (and announce it) or a meter error
 * report. Events may arrive in any order, so a mirrored object only moves to a newer event's state
 * (same second: fetched from Stripe). Throws when a write fails, so the caller answers 500 and
 * Stripe delivers the event again.
 */
export async function actOnNotification(
  deps: NotificationDependencies,
  n: Exclude<ProviderNotification, { kind: 'ignored' }>,
): Promise<NotificationOutcome> {
  const outcome: NotificationOutcome = { reconciliationMismatches: 0, meterErrorReports: 0 };
  if (n.kind === 'meter_error_report') {
    await meterErrorReport(deps, n.eventId);
    outcome.meterErrorReports = 1;
    return outcome;
  }
  const customerId = n.kind === 'subscription' ? n.subscription.customerId : n.invoice.customerId;
  const tenantId = await deps.store.tenantOfCustomer(customerId);
  if (!tenantId) {
    deps.log.warn('webhook for a Stripe customer that is no tenant', { eventId: n.eventId, type: n.type, customerId });
    return outcome;
  }
  if (n.kind === 'subscription') {
    const stored = await deps.store.subscription(tenantId, n.subscription.id);
    const order = ordering(stored?.eventCreated, n.created);
    if (order === 'older') return outcome;
    const state = order === 'tie' ? await deps.provider.subscription(n.subscription.id) : n.subscription;
    await deps.store.putSubscription(tenantId, { state, eventId: n.eventId, eventCreated: n.created });
    return outcome;
  }
  const invoice = n.moreLines ? { ...n.invoice, lines: await deps.provider.invoiceLines(n.invoice.id) } : n.invoice;
  // A one-off invoice (no subscription) is one Meterline made for a progressive invoice (invoice-sync.ts): it bills no
  // period, so it is neither a period's invoice to follow nor one to reconcile; its amount is Meterline's by making.
  const ofPeriod = invoice.subscriptionId !== null;
  if (ordering((await deps.store.invoice(tenantId, invoice.id))?.eventCreated, n.created) !== 'older') {
    await deps.store.putInvoice(tenantId, { state: invoice, eventId: n.eventId, eventCreated: n.created });
    // Meterline's invoice moves only forward along its status machine, so a late or repeated event changes nothing.
    if (ofPeriod)
      await deps.invoices.followProviderInvoice(tenantId, invoice.periodStart * 1000, {
        id: invoice.id,
        status: invoice.status,
        hostedInvoiceUrl: invoice.hostedInvoiceUrl,
      });
  }
  // Stripe finalizes a period's draft an hour after making it; Meterline counts late events for the period for its
  // grace window and then adds the invoice's credit and true-up lines to that draft (invoice-sync.ts). So the draft
  // waits for both: Stripe's invoice then bills the late usage too, and takes the lines.
  if (n.type === 'invoice.created' && invoice.status === 'draft' && invoice.periodEnd > invoice.periodStart) {
    const until = invoice.periodEnd + (deps.graceHours + DRAFT_HOLD_MARGIN_HOURS) * 3600;
    if (until * 1000 > deps.now() && !(await deps.provider.holdDraft(invoice.id, until)))
      deps.log.warn('Stripe invoice finalized before Meterline could hold it', { tenantId, invoiceId: invoice.id });
  }
  if (n.type === 'invoice.finalized' && ofPeriod && !(await reconcileInvoice(deps, tenantId, invoice)))
    outcome.reconciliationMismatches = 1;
  if (n.type === 'invoice.payment_failed') {
    await deps.store.raiseIssue({
      id: `payment-failed:${invoice.id}`,
      tenantId,
      kind: 'PAYMENT_FAILED',
      subject: `payment of Stripe invoice ${invoice.id} failed`,
      details: { invoiceId: invoice.id, total: invoice.total, currency: invoice.currency },
      raisedAt: new Date(deps.now()).toISOString(),
    });
    const own = await deps.invoices.invoiceForPeriod(tenantId, invoice.periodStart * 1000);
    await deps.publish(paymentFailed(tenantId, n.eventId, invoice, own?.number, new Date(deps.now()).toISOString()));
  }
  return outcome;
}

/** One failed collection attempt, announced under Stripe's event id: a redelivered webhook announces it again under the same id. */
function paymentFailed(tenantId: string, eventId: string, invoice: InvoiceState, number: string | undefined, at: string): DomainEvent {
  const data = {
    stripeInvoiceId: invoice.id,
    ...(number ? { number } : {}),
    currency: invoice.currency.toUpperCase(),
    total: new Dec(invoice.total).div(minorPerMajor(invoice.currency)).toFixed(),
    ...(invoice.hostedInvoiceUrl ? { hostedInvoiceUrl: invoice.hostedInvoiceUrl } : {}),
  };
  return domainEvent('invoice.payment_failed', tenantId, eventId, data, at);
}

/** Stripe finalized an invoice: the usage it bills must equal Meterline's for the period (./mirror.ts). False on a mismatch, which raises a billing issue. */
async function reconcileInvoice(deps: NotificationDependencies, tenantId: string, invoice: InvoiceState): Promise<boolean> {
  const lines = await Promise.all(
    invoice.lines.map(async (line) => ({ ...line, eventName: line.priceId ? await deps.provider.eventNameOfPrice(line.priceId) : null })),
  );
  const own = await deps.invoices.invoiceForPeriod(tenantId, invoice.periodStart * 1000);
  const mismatches = reconcile({ currency: invoice.currency, lines }, own, await deps.meters(tenantId));
  if (mismatches.length === 0) {
    deps.log.info('Stripe invoice reconciled', { tenantId, invoiceId: invoice.id });
    return true;
  }
  deps.log.error('Stripe invoice differs from Meterline', { tenantId, invoiceId: invoice.id, mismatches });
  const raisedAt = new Date(deps.now()).toISOString();
  await deps.store.raiseIssue({
    id: `reconciliation:${invoice.id}`,
    tenantId,
    kind: 'RECONCILIATION_MISMATCH',
    subject: `Stripe invoice ${invoice.id} differs from Meterline's for the period starting ${new Date(invoice.periodStart * 1000).toISOString()}`,
    details: { invoiceId: invoice.id, periodStart: invoice.periodStart, periodEnd: invoice.periodEnd, mismatches },
    raisedAt,
  });
  const period = { start: new Date(invoice.periodStart * 1000).toISOString(), end: new Date(invoice.periodEnd * 1000).toISOString() };
  await deps.publish(
    domainEvent(
      'reconciliation.mismatch',
      tenantId,
      invoice.id,
      {
        stripeInvoiceId: invoice.id,
        period,
        mismatches: mismatches.map(({ kind, meter, line, provider, meterline }) => ({
          kind,
          ...(meter !== undefined ? { meter } : {}),
          ...(line !== undefined ? { line } : {}),
          ...(provider !== undefined ? { stripe: provider } : {}),
          ...(meterline !== undefined ? { meterline } : {}),
        })),
      },
      raisedAt,
    ),
  );
  return false;
}

/** Stripe found invalid meter events (a thin event: the report is fetched). Identifiers name the tenant. */
async function meterErrorReport(deps: NotificationDependencies, eventId: string): Promise<void> {
  const report = await deps.provider.meterErrorReport(eventId);
  const identifiers = report.errors.flatMap((e) => e.samples.map((s) => s.identifier));
  const tenants = [...new Set(identifiers.filter((id) => !id.startsWith('mtl:')).map((id) => id.split(':')[0]!))];
  deps.log.error('Stripe meter error report', { eventId, report });
  const issue = {
    id: `meter-error:${eventId}`,
    kind: 'METER_ERROR_REPORT' as const,
    subject: report.summary,
    details: report,
    raisedAt: new Date(deps.now()).toISOString(),
  };
  if (tenants.length === 0) await deps.store.raiseIssue(issue);
  for (const tenantId of tenants) {
    await deps.store.raiseIssue({ ...issue, tenantId });
    const errors = report.errors.flatMap((e) =>
      e.samples.filter((s) => s.identifier.startsWith(`${tenantId}:`)).map((s) => ({ code: e.code, message: s.message })),
    );
    await deps.publish(domainEvent('stripe.report_failed', tenantId, eventId, { source: 'stripe_error_report', errors }, issue.raisedAt));
  }
}
