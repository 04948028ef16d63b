import { rejectionStore, usageStore } from '../../shared/composition/root.js';
import { createConsumer } from './consumer.js';

const store = usageStore();
const rejections = rejectionStore();

export const handler = createConsumer({
  commit: (events) => store.commit(events),
  recordRejections: (batch) => rejections.record(batch),
  now: Date.now,
});
