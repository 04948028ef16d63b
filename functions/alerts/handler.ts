import { checkEndpointUrl } from '../../shared/alerts/adapters/webhook-sender.js';
import { quotaPeriod } from '../../shared/billing/quotas.js';
import {
  alertStore,
  allowLoopbackWebhooks,
  billingStore,
  deliveryQueue,
  tenantDirectory,
  webhookStore,
} from '../../shared/composition/root.js';
import { createAlertsApi } from './alerts.js';

const directory = tenantDirectory();
const billing = billingStore();
const allowLoopback = allowLoopbackWebhooks();

export const handler = createAlertsApi({
  meters: (tenantId) => directory.listMeters(tenantId),
  period: async (tenantId, now) => quotaPeriod(await billing.getSubscription(tenantId), now),
  alerts: alertStore(),
  webhooks: webhookStore(),
  checkUrl: (url) => checkEndpointUrl(url, allowLoopback),
  queue: deliveryQueue(),
  now: Date.now,
});
