import { usageStreamSubscriptions } from '../../shared/alerts/notifications.js';
import { eventPublisher, webhookStore } from '../../shared/composition/alerts.js';
import { rejectionStore, usageWriter } from '../../shared/composition/metering.js';
import { createConsumer } from './consumer.js';

const writer = usageWriter();
const rejections = rejectionStore();
const publisher = eventPublisher();

export const handler = createConsumer({
  commit: (messages) => writer.commit(messages),
  recordRejections: (batch) => rejections.record(batch),
  publish: (event) => publisher.publish(event),
  streams: usageStreamSubscriptions(webhookStore(), 60_000),
  now: Date.now,
});
