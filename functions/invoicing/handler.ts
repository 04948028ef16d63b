import { settings } from '../../shared/config.js';
import { billingReads, billingStore } from '../../shared/dependencies.js';
import { createInvoicingJob } from './invoicing.js';

const store = billingStore();

export const handler = createInvoicingJob({ store, reads: billingReads(store), graceHours: settings().graceHours });
