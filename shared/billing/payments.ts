import type { DomainEvent } from '../events/domain-events.js';
import { ClientError } from '../kernel/errors.js';
import { followedStatus, type Invoice, invoiceStatusChanged, type ProviderInvoice } from './invoices.js';
import type { BillingStore } from './ports.js';

/**
 * Meterline's invoice follows the provider's invoice for the same customer and period: it keeps the
 * provider's id and hosted payment page, and moves to paid, void or uncollectible when the provider's
 * does (announced as `invoice.status_changed`). Called by the Stripe webhook, and by the invoice job
 * when it issues an invoice whose period Stripe has already settled.
 */
export async function followProviderInvoice(
  store: Pick<BillingStore, 'linkProviderInvoice' | 'setInvoiceStatus'>,
  publish: (event: DomainEvent) => Promise<void>,
  invoice: Invoice,
  provider: ProviderInvoice,
  at: string,
): Promise<Invoice> {
  let current = invoice;
  if (invoice.stripeInvoiceId !== provider.id || (provider.hostedInvoiceUrl && invoice.hostedInvoiceUrl !== provider.hostedInvoiceUrl)) {
    current = await store.linkProviderInvoice(invoice, provider);
  }
  const to = followedStatus(current.status, provider.status);
  if (!to) return current;
  let moved: Invoice | undefined;
  try {
    moved = await store.setInvoiceStatus(current.tenantId, current.id, to, at);
  } catch (error) {
    // An admin or a concurrent delivery moved it first, to a status this one cannot follow.
    if (error instanceof ClientError && error.code === 'CONFLICT') return current;
    throw error;
  }
  if (!moved) return current;
  await publish(invoiceStatusChanged(moved, current.status, 'stripe'));
  return moved;
}
