import { eventPublisher, rejectionStore, usageStore } from '../../shared/composition/root.js';
import { createConsumer } from './consumer.js';

const store = usageStore();
const rejections = rejectionStore();
const publisher = eventPublisher();

export const handler = createConsumer({
  commit: (messages) => store.commit(messages),
  recordRejections: (batch) => rejections.record(batch),
  publish: (event) => publisher.publish(event),
  now: Date.now,
});
