import { followProviderInvoice } from '../../shared/billing/payments.js';
import { eventPublisher } from '../../shared/composition/alerts.js';
import { billingStore } from '../../shared/composition/billing.js';
import { stripeStore, stripeWebhooks } from '../../shared/composition/stripe.js';
import { tenantDirectory } from '../../shared/composition/tenancy.js';
import { settings } from '../../shared/platform/config.js';
import { meterlineInvoice } from '../../shared/stripe/mirror.js';
import { createStripeWebhook } from './stripe-webhook.js';

const webhooks = stripeWebhooks();
const directory = tenantDirectory();
const billing = billingStore();
const publisher = eventPublisher();

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
    followProviderInvoice: async (tenantId, periodStart, provider) => {
      const invoice = await billing.invoiceForPeriod(tenantId, new Date(periodStart).toISOString());
      if (invoice) await followProviderInvoice(billing, (event) => publisher.publish(event), invoice, provider, new Date().toISOString());
    },
  },
  publish: (event) => publisher.publish(event),
  now: Date.now,
  graceHours: settings().graceHours,
});
