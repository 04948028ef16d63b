import { billingReads, billingStore } from '../../shared/dependencies.js';
import { createBillingApi } from './billing.js';

const store = billingStore();

export const handler = createBillingApi({ store, reads: billingReads(store), now: Date.now });
