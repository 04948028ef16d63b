import { billingStore, tenantDirectory } from '../../shared/composition/root.js';
import { stripeStore, stripeWebhooks } from '../../shared/composition/stripe.js';
import type { Invoice } from '../../shared/billing/invoices.js';
import type { MeterlineInvoice } from '../../shared/stripe/mirror.js';
import { createStripeWebhook } from './stripe-webhook.js';

const webhooks = stripeWebhooks();
const directory = tenantDirectory();
const billing = billingStore();

/** Meterline's invoice as reconciliation compares it: the period's usage lines (neither the base fee nor late adjustments for earlier periods). */
const forReconciliation = (invoice: Invoice): MeterlineInvoice => ({
  currency: invoice.currency,
  lines: invoice.lines.filter((l) => l.kind === 'usage' && l.meter).map((l) => ({ meter: l.meter!, quantity: l.quantity, amount: l.amount })),
});

export const handler = createStripeWebhook({
  verify: (raw, signature) => webhooks.verify(raw, signature),
  provider: webhooks,
  store: stripeStore(),
  meters: (tenantId) => directory.listMeters(tenantId),
  invoices: {
    invoiceForPeriod: async (tenantId, periodStart) => {
      const invoice = await billing.invoiceForPeriod(tenantId, new Date(periodStart).toISOString());
      return invoice && forReconciliation(invoice);
    },
  },
  now: () => new Date(),
});
