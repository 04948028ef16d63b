import { eventPublisher } from '../../shared/composition/alerts.js';
import { billingReads, billingStore } from '../../shared/composition/billing.js';
import { invoiceItemSync, stripeStore } from '../../shared/composition/stripe.js';
import { settings } from '../../shared/platform/config.js';
import { logger } from '../../shared/platform/observability.js';
import { createInvoicingJob } from './invoicing.js';

const store = billingStore();
const publisher = eventPublisher();
// The mirror of Stripe's invoices: a DynamoDB read. The Stripe client is loaded only for a tenant on Stripe.
const stripeMirror = stripeStore();
const sendItems = invoiceItemSync();

export const handler = createInvoicingJob({
  store,
  reads: billingReads(store),
  publish: (event) => publisher.publish(event),
  providerInvoice: async (invoice) => {
    const state = await stripeMirror.invoiceOfPeriod(invoice.tenantId, Date.parse(invoice.periodStart) / 1000);
    return state && { id: state.id, status: state.status, hostedInvoiceUrl: state.hostedInvoiceUrl ?? null };
  },
  sendProviderItems: async (invoice) => {
    const outcome = await sendItems(invoice);
    if (outcome.differences > 0)
      logger.error("credit, true-up or already-invoiced lines missed Stripe's draft invoice", { invoiceId: invoice.id, ...outcome });
  },
  graceHours: settings().graceHours,
});
