import type Stripe from 'stripe';
import type { PlacedItem, ProviderInvoiceItem } from '../invoice-items.js';
import type { InvoiceItemWriter } from '../ports.js';
import { withStripeRetry } from './retry.js';

/** Metadata keys that tie a Stripe invoice item to the Meterline invoice line it carries. */
const INVOICE = 'meterline_invoice';
export const METERLINE_LINE = 'meterline_line';

/** The Meterline items on a Stripe invoice, read back from its lines by their metadata. */
async function placedItems(stripe: Stripe, invoiceId: string): Promise<PlacedItem[]> {
  const items: PlacedItem[] = [];
  for await (const line of stripe.invoices.listLineItems(invoiceId, { limit: 100 })) {
    const item = line.parent?.invoice_item_details?.invoice_item;
    const [ownInvoice, ownLine] = [line.metadata[INVOICE], line.metadata[METERLINE_LINE]];
    if (item && ownInvoice && ownLine) items.push({ id: item, invoiceId: ownInvoice, line: ownLine, amount: line.amount });
  }
  return items;
}

/**
 * Meterline's invoice lines as Stripe invoice items on the period's draft invoice (`POST /v1/invoiceitems`
 * with `invoice`), read back from the invoice's lines by their metadata; and a progressive invoice as a
 * one-off Stripe invoice (`POST /v1/invoices`, its metadata naming it), finalized. Every write carries an
 * Idempotency-Key, so a retry after a lost answer replays Stripe's first one.
 */
export class StripeInvoiceItems implements InvoiceItemWriter {
  constructor(private readonly client: () => Promise<Stripe>) {}

  async periodInvoice(customerId: string, periodStart: number) {
    const stripe = await this.client();
    // Newest first; the period's invoice is made once the period has ended, so older ones cannot be it. The one a
    // backdated subscription starts with may share its period start, but bills in advance: only a cycle invoice is it.
    for await (const invoice of stripe.invoices.list({ customer: customerId, limit: 20 })) {
      if (invoice.created < periodStart) break;
      if (invoice.period_start !== periodStart || invoice.billing_reason !== 'subscription_cycle' || invoice.status === 'void') continue;
      return { id: invoice.id!, status: invoice.status ?? 'draft', items: await placedItems(stripe, invoice.id!) };
    }
    return undefined;
  }

  async createInvoiceItem(customerId: string, invoiceId: string, item: ProviderInvoiceItem, period: { start: number; end: number }) {
    const stripe = await this.client();
    await withStripeRetry(() =>
      stripe.invoiceItems.create(
        {
          customer: customerId,
          invoice: invoiceId,
          amount: item.amount,
          currency: item.currency,
          description: item.description,
          period,
          metadata: { [INVOICE]: item.invoiceId, [METERLINE_LINE]: item.line },
        },
        { idempotencyKey: item.idempotencyKey },
      ),
    );
  }

  async deleteInvoiceItem(itemId: string) {
    const stripe = await this.client();
    await withStripeRetry(() => stripe.invoiceItems.del(itemId));
  }

  async ownInvoice(customerId: string, invoiceId: string, since: number) {
    const stripe = await this.client();
    for await (const invoice of stripe.invoices.list({ customer: customerId, limit: 20 })) {
      if (invoice.created < since) break;
      if (invoice.metadata?.[INVOICE] !== invoiceId || invoice.status === 'void') continue;
      return { id: invoice.id!, status: invoice.status ?? 'draft', items: await placedItems(stripe, invoice.id!) };
    }
    return undefined;
  }

  async createInvoice(customerId: string, invoice: { invoiceId: string; currency: string; description: string }, idempotencyKey: string) {
    const stripe = await this.client();
    const created = await withStripeRetry(() =>
      stripe.invoices.create(
        {
          customer: customerId,
          currency: invoice.currency,
          description: invoice.description,
          // Only the items Meterline attaches: the customer's pending items wait for its next cycle invoice.
          pending_invoice_items_behavior: 'exclude',
          collection_method: 'charge_automatically',
          // Finalized by Meterline once its item is on it, not by Stripe an hour after creation.
          auto_advance: false,
          metadata: { [INVOICE]: invoice.invoiceId },
        },
        { idempotencyKey },
      ),
    );
    return created.id!;
  }

  async finalizeInvoice(id: string, idempotencyKey: string) {
    const stripe = await this.client();
    // auto_advance: Stripe collects it from here (charges the customer's default payment method, retries, dunning).
    await withStripeRetry(() => stripe.invoices.finalizeInvoice(id, { auto_advance: true }, { idempotencyKey }));
  }
}
