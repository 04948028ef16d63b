import { usageStore } from '../../shared/composition/root.js';
import { createConsumer } from './consumer.js';

const store = usageStore();

export const handler = createConsumer({ commit: (events) => store.commit(events), now: Date.now });
