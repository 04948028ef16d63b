import type { Invoice } from '../billing/invoices.js';
import { itemDifferences, planInvoiceItems, progressiveInvoiceItem, providerInvoiceItems } from './invoice-items.js';
import type { BillingIssue } from './mirror.js';
import { fromMinorUnits } from './mirror.js';
import type { InvoiceItemWriter } from './ports.js';

export interface InvoiceSyncDependencies {
  writer: Pick<InvoiceItemWriter, 'periodInvoice' | 'createInvoiceItem' | 'deleteInvoiceItem'>;
  /** The tenant's Stripe customer; none when the tenant is not billed through Stripe. */
  customerOf(tenantId: string): Promise<string | undefined>;
  raiseIssue(issue: BillingIssue): Promise<void>;
  now(): number;
}

export interface InvoiceSyncOutcome {
  /**
   * `draft`: Stripe's invoice for the period took the items. `finalized`: it was already finalized, and any
   * difference is a `CREDIT_NOTE_NEEDED` billing issue. `no-provider-invoice`: Stripe has no invoice for the
   * period (no Stripe subscription, or not made yet), raised as the same issue when there was something to
   * send. `no-customer`: the tenant is not on Stripe. `nothing`: no such lines, and no reissue whose predecessor's
   * lines might have to come off.
   */
  target: 'draft' | 'finalized' | 'no-provider-invoice' | 'no-customer' | 'nothing';
  created: number;
  removed: number;
  differences: number;
}

/**
 * Puts the credit, true-up and "Already invoiced" lines of Meterline's invoice (./invoice-items.ts) on Stripe's invoice for
 * the same customer and period while that is a draft: the lines not there yet are added, one invoice
 * item each under an Idempotency-Key per line; items of an invoice Meterline replaced (a reissue) are
 * taken off. Run again, it finds them and sends nothing. Once Stripe has finalized its invoice nothing
 * can be added or taken off it: a difference is raised as a billing issue for a person to settle (a
 * credit note), never sent onto another period's invoice.
 */
export async function sendInvoiceItems(deps: InvoiceSyncDependencies, invoice: Invoice): Promise<InvoiceSyncOutcome> {
  const outcome: InvoiceSyncOutcome = { target: 'nothing', created: 0, removed: 0, differences: 0 };
  const wanted = providerInvoiceItems(invoice);
  if (wanted.length === 0 && !invoice.replaces) return outcome;
  const customerId = await deps.customerOf(invoice.tenantId);
  if (!customerId) return { ...outcome, target: 'no-customer' };
  const period = { start: Date.parse(invoice.periodStart) / 1000, end: Date.parse(invoice.periodEnd) / 1000 };
  const provider = await deps.writer.periodInvoice(customerId, period.start);
  if (provider?.status === 'draft') {
    const plan = planInvoiceItems(wanted, provider.items);
    for (const item of plan.remove) await deps.writer.deleteInvoiceItem(item.id);
    for (const item of plan.create) await deps.writer.createInvoiceItem(customerId, provider.id, item, period);
    return { ...outcome, target: 'draft', created: plan.create.length, removed: plan.remove.length };
  }
  const differences = itemDifferences(wanted, provider?.items ?? []);
  if (differences.length > 0) {
    const currency = invoice.currency;
    await deps.raiseIssue({
      id: `credit-note-needed:${invoice.id}`,
      tenantId: invoice.tenantId,
      kind: 'CREDIT_NOTE_NEEDED',
      subject: provider
        ? `Stripe invoice ${provider.id} was finalized before the credit and true-up lines of Meterline invoice ${invoice.id} reached it`
        : `Stripe has no invoice for the period of Meterline invoice ${invoice.id}: its credit and true-up lines were not sent`,
      details: {
        invoiceId: invoice.id,
        stripeInvoiceId: provider?.id ?? null,
        periodStart: invoice.periodStart,
        differences: differences.map((d) => ({
          line: d.line,
          stripe: fromMinorUnits(d.provider, currency).toFixed(),
          meterline: fromMinorUnits(d.meterline, currency).toFixed(),
        })),
      },
      raisedAt: new Date(deps.now()).toISOString(),
    });
  }
  return { ...outcome, target: provider ? 'finalized' : 'no-provider-invoice', differences: differences.length };
}

export interface ProgressiveSyncDependencies {
  writer: Omit<InvoiceItemWriter, 'periodInvoice'>;
  /** The tenant's Stripe customer; none when the tenant is not billed through Stripe. */
  customerOf(tenantId: string): Promise<string | undefined>;
  /** Records the Stripe invoice beside Meterline's progressive invoice. */
  link(invoice: Invoice, stripeInvoiceId: string): Promise<void>;
}

/** How far before a progressive invoice's issue its Stripe invoice is looked for: the two clocks may differ a little. */
const CLOCK_SLACK_S = 3_600;

/**
 * A progressive invoice reaches Stripe as a one-off invoice on the tenant's customer that takes none of its
 * pending items, carrying one item for the progressive invoice's subtotal (./invoice-items.ts
 * `progressiveInvoiceItem`), finalized so that Stripe collects it; its id is then recorded beside Meterline's
 * invoice. Each write has an Idempotency-Key derived from the progressive invoice, and each step first reads
 * what Stripe already has (the invoice by its metadata, the item on it), so a re-run or a crash between calls
 * sends nothing twice, even past Stripe's 24 hours of keys. The period's final invoice then deducts it from
 * Stripe's cycle invoice as an "Already invoiced" item (`sendInvoiceItems`). Undefined when the tenant is not on
 * Stripe or the invoice was voided first; the Stripe invoice's id otherwise.
 */
export async function sendProgressiveInvoice(deps: ProgressiveSyncDependencies, invoice: Invoice): Promise<string | undefined> {
  if (!invoice.progressive) throw new Error(`invoice ${invoice.id} is not a progressive invoice`);
  if (invoice.stripeInvoiceId) return invoice.stripeInvoiceId;
  // Voided before it reached Stripe: the final invoice no longer deducts it, so Stripe must not charge it either.
  if (invoice.status === 'void') return undefined;
  const customerId = await deps.customerOf(invoice.tenantId);
  if (!customerId) return undefined;
  const item = progressiveInvoiceItem(invoice);
  const since = Math.floor(Date.parse(invoice.issuedAt) / 1000) - CLOCK_SLACK_S;
  const key = (step: string) => `meterline-progressive-${invoice.id}-${step}`;
  const provider = (await deps.writer.ownInvoice(customerId, invoice.id, since)) ?? {
    id: await deps.writer.createInvoice(
      customerId,
      { invoiceId: invoice.id, currency: item.currency, description: `Meterline progressive invoice ${invoice.number}` },
      key('invoice'),
    ),
    status: 'draft',
    items: [],
  };
  if (provider.status === 'draft') {
    const plan = planInvoiceItems([item], provider.items);
    for (const placed of plan.remove) await deps.writer.deleteInvoiceItem(placed.id);
    const period = { start: Date.parse(invoice.periodStart) / 1000, end: Math.floor(Date.parse(invoice.issuedAt) / 1000) };
    for (const wanted of plan.create) await deps.writer.createInvoiceItem(customerId, provider.id, wanted, period);
    await deps.writer.finalizeInvoice(provider.id, key('finalize'));
  }
  await deps.link(invoice, provider.id);
  return provider.id;
}
