import { alertStore } from '../../shared/composition/alerts.js';
import { billingReads, billingStore } from '../../shared/composition/billing.js';
import { stripeStore } from '../../shared/composition/stripe.js';
import { tenantDirectory } from '../../shared/composition/tenancy.js';
import { createConsoleApi } from './console.js';

const directory = tenantDirectory();
const billing = billingStore();
const stripe = stripeStore();
const alerts = alertStore();

export const handler = createConsoleApi({
  listTenants: () => directory.listTenants(),
  tenantExists: async (tenantId) => (await directory.getTenant(tenantId)) !== undefined,
  getSubscription: (tenantId) => billing.getSubscription(tenantId),
  listInvoices: (tenantId, limit) => billing.listInvoices(tenantId, limit),
  billingIssues: (tenantId) => stripe.issues(tenantId),
  watches: (tenantId) => alerts.watches(tenantId),
  reads: billingReads(billing),
  now: Date.now,
});
