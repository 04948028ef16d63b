import { alertStore, billingReads, billingStore, eventPublisher, meterReader, tenantDirectory } from '../../shared/composition/root.js';
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
  },
  publish: (event) => publisher.publish(event),
  now: Date.now,
});
