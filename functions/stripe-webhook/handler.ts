import { billingStore, tenantDirectory } from '../../shared/composition/root.js';
import { stripeStore, stripeWebhooks } from '../../shared/composition/stripe.js';
import { meterlineInvoice } from '../../shared/stripe/mirror.js';
import { createStripeWebhook } from './stripe-webhook.js';

const webhooks = stripeWebhooks();
const directory = tenantDirectory();
const billing = billingStore();

export const handler = createStripeWebhook({
  verify: (raw, signature) => webhooks.verify(raw, signature),
  provider: webhooks,
  store: stripeStore(),
  meters: (tenantId) => directory.listMeters(tenantId),
  invoices: {
    invoiceForPeriod: async (tenantId, periodStart) => {
      const invoice = await billing.invoiceForPeriod(tenantId, new Date(periodStart).toISOString());
      return invoice && meterlineInvoice(invoice);
    },
  },
  now: Date.now,
});
