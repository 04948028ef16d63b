import { usageStore } from '../../shared/dependencies.js';
import { createConsumer } from './consumer.js';

const store = usageStore();

export const handler = createConsumer({ commit: (events) => store.commit(events), now: Date.now });
