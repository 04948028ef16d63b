import { alertStore, eventPublisher } from '../../shared/composition/alerts.js';
import { billingReads, billingStore } from '../../shared/composition/billing.js';
import { counterReader, meterReader } from '../../shared/composition/metering.js';
import { tenantDirectory } from '../../shared/composition/tenancy.js';
import { createAlertEvaluator } from './alert-evaluator.js';

const directory = tenantDirectory();
const billing = billingStore();
const reads = billingReads(billing);
const reader = meterReader();
const publisher = eventPublisher();
// The Stripe modules (the client and its composition) load at the first progressive invoice, not at every cold start:
// most runs issue none.
let toStripe: Promise<ReturnType<typeof import('../../shared/composition/stripe.js').progressiveInvoiceSync>> | undefined;
const stripeSync = () => {
  toStripe ??= import('../../shared/composition/stripe.js').then((m) => m.progressiveInvoiceSync(billing));
  return toStripe;
};

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
  sendToStripe: async (invoice) => (await stripeSync())(invoice),
  publish: (event) => publisher.publish(event),
  now: Date.now,
});
