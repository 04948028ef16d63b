import { billingReads, billingStore } from '../../shared/composition/root.js';
import { settings } from '../../shared/platform/config.js';
import { createInvoicingJob } from './invoicing.js';

const store = billingStore();

export const handler = createInvoicingJob({ store, reads: billingReads(store), graceHours: settings().graceHours });
