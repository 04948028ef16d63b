import { createHash } from 'node:crypto';
import Stripe from 'stripe';
import {
  type InvoiceState,
  invoiceEvents,
  type MeterErrorReport,
  meterErrorReportEvent,
  type ProviderNotification,
  SignatureRejected,
  type SubscriptionState,
  subscriptionEvents,
  UnprocessableNotification,
} from '../mirror.js';
import type { NotificationSource } from '../ports.js';
import type { StripeAccess } from './environment.js';
import { METERLINE_LINE } from './invoice-items.js';
import { isRetryable, withStripeRetry } from './retry.js';

/** Stripe's default, kept explicit: a signature older than five minutes is a replay. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/**
 * Stripe webhooks for the webhook function: signature verification on the raw body, and the fetches it
 * needs (the current subscription when two events tie, a thin event's full report, the meter behind a
 * price). Stripe objects are turned into Meterline's small state types here and nowhere else.
 */
export class StripeWebhookAdapter implements NotificationSource {
  private readonly eventNames = new Map<string, Promise<string | null>>();

  constructor(
    private readonly access: () => Promise<StripeAccess>,
    private readonly toleranceSeconds = SIGNATURE_TOLERANCE_SECONDS,
  ) {}

  /** Verifies `Stripe-Signature` over the exact bytes received; throws SignatureRejected when it does not hold. */
  async verify(rawBody: Buffer, signature: string | undefined): Promise<ProviderNotification> {
    if (!signature) throw new SignatureRejected('missing Stripe-Signature header');
    const { stripe, secrets } = await this.access();
    const secret = secrets.webhookSecret;
    if (!secret) throw new Error('no Stripe webhook signing secret is configured for this function');
    let event: Stripe.Event | Stripe.V2.Core.EventNotification;
    try {
      // Thin (v2) events are verified the same way but parsed by their own entry point.
      event = isThinEvent(rawBody)
        ? stripe.parseEventNotification(rawBody, signature, secret, this.toleranceSeconds)
        : stripe.webhooks.constructEvent(rawBody, signature, secret, this.toleranceSeconds);
    } catch (error) {
      // The library's message says which check failed (no signature for the payload, timestamp outside the tolerance).
      throw new SignatureRejected(error instanceof Error ? error.message : 'invalid signature');
    }
    // stripe-node bounds a signature's age only: one stamped in the future would pass for ever.
    if (signedAt(signature) - Math.floor(Date.now() / 1000) > this.toleranceSeconds) {
      throw new SignatureRejected('Timestamp outside the tolerance zone (in the future)');
    }
    const fields: { id?: unknown; type?: unknown } = typeof event === 'object' && event !== null ? event : {};
    const eventId =
      typeof fields.id === 'string' ? fields.id : `unidentified-${createHash('sha256').update(rawBody).digest('hex').slice(0, 16)}`;
    const type = typeof fields.type === 'string' ? fields.type : 'untyped';
    try {
      if (Array.isArray(event) || eventId !== fields.id || type !== fields.type)
        throw new Error('an event is an object with an id and a type');
      return notificationOf(event);
    } catch (error) {
      // Signed by Stripe, yet not the shape its type promises (null, an empty object, no data): no redelivery changes that.
      throw new UnprocessableNotification(`the ${type} event cannot be read: ${(error as Error).message}`, { eventId, type });
    }
  }

  async subscription(id: string): Promise<SubscriptionState> {
    const { stripe } = await this.access();
    return subscriptionState(await refusedForGood(withStripeRetry(() => stripe.subscriptions.retrieve(id))));
  }

  /** Every line of an invoice, for when a webhook's copy holds only the first page. */
  async invoiceLines(invoiceId: string): Promise<InvoiceState['lines']> {
    const { stripe } = await this.access();
    const lines: InvoiceState['lines'] = [];
    await refusedForGood(
      (async () => {
        for await (const line of stripe.invoices.listLineItems(invoiceId, { limit: 100 })) lines.push(lineState(line));
      })(),
    );
    return lines;
  }

  /** The event name of the billing meter a metered price is tied to; null for a licensed price. */
  eventNameOfPrice(priceId: string): Promise<string | null> {
    let name = this.eventNames.get(priceId);
    if (!name) {
      name = this.lookUpEventName(priceId);
      name.catch(() => this.eventNames.delete(priceId));
      this.eventNames.set(priceId, name);
    }
    return name;
  }

  async holdDraft(invoiceId: string, until: number): Promise<boolean> {
    const { stripe } = await this.access();
    try {
      await withStripeRetry(() => stripe.invoices.update(invoiceId, { automatically_finalizes_at: until }));
      return true;
    } catch (error) {
      if (error instanceof Stripe.errors.StripeInvalidRequestError && !isRetryable(error)) return false;
      throw error;
    }
  }

  async meterErrorReport(eventId: string): Promise<MeterErrorReport> {
    const { stripe } = await this.access();
    const event = (await refusedForGood(
      withStripeRetry(() => stripe.v2.core.events.retrieve(eventId)),
    )) as Stripe.V2.Core.Events.V1BillingMeterErrorReportTriggeredEvent;
    return {
      meterId: event.related_object?.id ?? null,
      summary: event.data.developer_message_summary,
      errors: event.data.reason.error_types.map((t) => ({
        code: t.code,
        count: t.error_count,
        samples: t.sample_errors.map((s) => ({ message: s.error_message, identifier: s.request.identifier })),
      })),
    };
  }

  private async lookUpEventName(priceId: string): Promise<string | null> {
    const { stripe } = await this.access();
    const price = await refusedForGood(withStripeRetry(() => stripe.prices.retrieve(priceId)));
    const meterId = price.recurring?.meter;
    if (!meterId) return null;
    return (await refusedForGood(withStripeRetry(() => stripe.billing.meters.retrieve(meterId)))).event_name;
  }
}

/** The notification a verified event carries; throws when the event's object is not the shape its type promises. */
function notificationOf(event: Stripe.Event | Stripe.V2.Core.EventNotification): ProviderNotification {
  if (event.object === 'v2.core.event') {
    const created = Math.floor(Date.parse(event.created) / 1000);
    return {
      kind: event.type === meterErrorReportEvent ? 'meter_error_report' : 'ignored',
      eventId: event.id,
      type: event.type,
      created,
    };
  }
  const base = { eventId: event.id, type: event.type, created: event.created };
  if (subscriptionEvents.includes(event.type))
    return { kind: 'subscription', ...base, subscription: subscriptionState(event.data.object as Stripe.Subscription) };
  if (invoiceEvents.includes(event.type)) {
    const invoice = event.data.object as Stripe.Invoice;
    return { kind: 'invoice', ...base, invoice: invoiceState(invoice), moreLines: invoice.lines.has_more };
  }
  return { kind: 'ignored', ...base };
}

/** A fetch Stripe answers with a 4xx other than a rate limit or a conflict (the object is gone, say) never succeeds on redelivery. */
async function refusedForGood<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof Stripe.errors.StripeInvalidRequestError && !isRetryable(error)) {
      throw new UnprocessableNotification(`Stripe refused a fetch: ${error.message}`);
    }
    throw error;
  }
}

/** The signature's timestamp (`t=`), read as stripe-node reads it: the last one. */
function signedAt(header: string): number {
  let at = Number.NaN;
  for (const item of header.split(',')) {
    const [key, value] = item.split('=');
    if (key === 't') at = Number.parseInt(value ?? '', 10);
  }
  return at;
}

function isThinEvent(rawBody: Buffer): boolean {
  try {
    return (JSON.parse(rawBody.toString('utf8')) as { object?: unknown })?.object === 'v2.core.event';
  } catch {
    return false;
  }
}

const idOf = (value: string | { id: string } | null | undefined): string | null =>
  value == null ? null : typeof value === 'string' ? value : value.id;

function subscriptionState(s: Stripe.Subscription): SubscriptionState {
  return {
    id: s.id,
    customerId: idOf(s.customer)!,
    status: s.status,
    cancelAtPeriodEnd: s.cancel_at_period_end,
    canceledAt: s.canceled_at,
    items: s.items.data.map((item) => ({
      id: item.id,
      priceId: item.price.id,
      meterId: item.price.recurring?.meter ?? null,
      currentPeriodStart: item.current_period_start,
      currentPeriodEnd: item.current_period_end,
    })),
  };
}

function lineState(line: Stripe.InvoiceLineItem): InvoiceState['lines'][number] {
  return {
    priceId: idOf(line.pricing?.price_details?.price),
    quantity: String(line.quantity_decimal ?? line.quantity ?? 0),
    amount: line.amount,
    ...(line.metadata?.[METERLINE_LINE] ? { meterlineLine: line.metadata[METERLINE_LINE] } : {}),
  };
}

function invoiceState(invoice: Stripe.Invoice): InvoiceState {
  return {
    id: invoice.id!,
    customerId: idOf(invoice.customer)!,
    status: invoice.status ?? 'draft',
    subscriptionId: idOf(invoice.parent?.subscription_details?.subscription),
    currency: invoice.currency,
    periodStart: invoice.period_start,
    periodEnd: invoice.period_end,
    total: invoice.total,
    amountPaid: invoice.amount_paid,
    hostedInvoiceUrl: invoice.hosted_invoice_url ?? null,
    lines: invoice.lines.data.map(lineState),
  };
}
