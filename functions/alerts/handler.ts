import { checkEndpointUrl } from '../../shared/alerts/adapters/webhook-sender.js';
import { quotaPeriod } from '../../shared/billing/quotas.js';
import { alertStore, allowLoopbackWebhooks, deliveryQueue, emailQueue, emailStore, webhookStore } from '../../shared/composition/alerts.js';
import { billingStore } from '../../shared/composition/billing.js';
import { rateLimiter, tenantDirectory } from '../../shared/composition/tenancy.js';
import { checkedBy } from '../../shared/platform/http.js';
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
  email: { store: emailStore(), queue: emailQueue() },
  now: Date.now,
}).use(checkedBy(rateLimiter()));
