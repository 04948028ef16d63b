import { eventPublisher } from '../../shared/composition/alerts.js';
import { billingReads, billingStore } from '../../shared/composition/billing.js';
import { stripeStore } from '../../shared/composition/stripe.js';
import { settings } from '../../shared/platform/config.js';
import { createInvoicingJob } from './invoicing.js';

const store = billingStore();
const publisher = eventPublisher();
// The mirror of Stripe's invoices only: a DynamoDB read, without the Stripe client.
const stripeMirror = stripeStore();

export const handler = createInvoicingJob({
  store,
  reads: billingReads(store),
  publish: (event) => publisher.publish(event),
  providerInvoice: async (invoice) => {
    const state = await stripeMirror.invoiceOfPeriod(invoice.tenantId, Date.parse(invoice.periodStart) / 1000);
    return state && { id: state.id, status: state.status, hostedInvoiceUrl: state.hostedInvoiceUrl ?? null };
  },
  graceHours: settings().graceHours,
});
