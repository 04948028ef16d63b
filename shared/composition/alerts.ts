import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DynamoAlertStore } from '../alerts/adapters/alert-store.js';
import { SqsDeliveryQueue } from '../alerts/adapters/delivery-queue.js';
import { DynamoEmailStore } from '../alerts/adapters/email-store.js';
import { EventBridgeBus } from '../alerts/adapters/event-bus.js';
import { DynamoWebhookStore } from '../alerts/adapters/webhook-store.js';
import { notificationPublisher } from '../alerts/notifications.js';
import type { DomainEventPublisher } from '../events/domain-events.js';
import { required } from '../platform/config.js';
import { tableName } from '../platform/dynamo/tables.js';
import { dynamo, sqs } from './clients.js';

export const alertStore = () => new DynamoAlertStore(dynamo(), tableName('tenants'));

export const webhookStore = () => new DynamoWebhookStore(dynamo(), tableName('webhooks'));

export const deliveryQueue = () => new SqsDeliveryQueue(sqs(), required('WEBHOOK_QUEUE_URL'));

/** Email recipients, the email log and the suppression list, beside the webhooks. */
export const emailStore = () => new DynamoEmailStore(dynamo(), tableName('webhooks'));

export const emailQueue = () => new SqsDeliveryQueue(sqs(), required('EMAIL_QUEUE_URL'));

/** Local runs only (the local stack sets it): webhook receivers on 127.0.0.1 may be registered and called. */
export const allowLoopbackWebhooks = () => process.env.WEBHOOK_ALLOW_LOOPBACK === 'true';

/** Domain events onto the event bus and the tenants' webhook endpoints. */
export const eventPublisher = (): DomainEventPublisher => {
  const store = webhookStore();
  return notificationPublisher({
    bus: new EventBridgeBus(new EventBridgeClient({}), required('EVENT_BUS_NAME')),
    endpoints: store,
    deliveries: store,
    queue: deliveryQueue(),
    now: Date.now,
  });
};
