import { alertStore, eventPublisher } from '../../shared/composition/alerts.js';
import { billingReads, billingStore } from '../../shared/composition/billing.js';
import { counterReader, meterReader } from '../../shared/composition/metering.js';
import { progressiveInvoiceSync } from '../../shared/composition/stripe.js';
import { tenantDirectory } from '../../shared/composition/tenancy.js';
import { createAlertEvaluator } from './alert-evaluator.js';

const directory = tenantDirectory();
const billing = billingStore();
const reads = billingReads(billing);
const reader = meterReader();
const publisher = eventPublisher();

export const handler = createAlertEvaluator({
  tenantIds: async () => (await directory.listTenants()).map((t) => t.id),
  alerts: alertStore(),
  reads: {
    billing: reads,
    quotaReads: { quantity: reads.quantity, level: (tenantId, meter, instant) => reader.level(tenantId, meter, instant) },
    subscription: (tenantId) => billing.getSubscription(tenantId),
    quotas: (tenantId) => billing.listQuotas(tenantId),
    credits: (tenantId) => billing.credits(tenantId),
  },
  counters: counterReader(),
  invoices: billing,
  // The tenant's Stripe customer is a DynamoDB read; the Stripe client loads only for a tenant on Stripe.
  sendToStripe: progressiveInvoiceSync(billing),
  publish: (event) => publisher.publish(event),
  now: Date.now,
});
