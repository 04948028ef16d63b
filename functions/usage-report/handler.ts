import { billingStore, eventPublisher, meterReader, tenantDirectory, usageStore } from '../../shared/composition/root.js';
import { stripeStore, usageReporter } from '../../shared/composition/stripe.js';
import { createUsageReport } from './usage-report.js';

const directory = tenantDirectory();
const usage = usageStore();
const billing = billingStore();
const reader = meterReader();
const publisher = eventPublisher();

export const handler = createUsageReport({
  tenants: directory,
  usage,
  billing: {
    subscription: (tenantId) => billing.getSubscription(tenantId),
    plan: (planId) => billing.getPlan(planId),
    quantity: (tenantId, meter, period, asOf) => reader.quantity(tenantId, meter, period, asOf),
    pauses: () => billing.listPauses(),
  },
  store: stripeStore(),
  reporter: usageReporter(),
  publish: (event) => publisher.publish(event),
});
