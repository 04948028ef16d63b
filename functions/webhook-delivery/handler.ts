import { webhookSender } from '../../shared/alerts/adapters/webhook-sender.js';
import { allowLoopbackWebhooks, deliveryQueue, webhookStore } from '../../shared/composition/alerts.js';
import { createWebhookDelivery } from './webhook-delivery.js';

const store = webhookStore();

export const handler = createWebhookDelivery({
  deliveries: store,
  endpoints: store,
  queue: deliveryQueue(),
  post: webhookSender(allowLoopbackWebhooks()),
  // 30 s in AWS; local tests shorten it to see a whole retry series in seconds.
  retryBaseSeconds: Number(process.env.WEBHOOK_RETRY_BASE_SECONDS ?? 30),
  now: Date.now,
  random: Math.random,
});
