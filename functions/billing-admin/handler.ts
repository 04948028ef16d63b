import { randomUUID } from 'node:crypto';
import { defaultAlerts } from '../../shared/alerts/rules.js';
import { includedQuotas } from '../../shared/billing/plans.js';
import { alertStore, eventPublisher } from '../../shared/composition/alerts.js';
import { billingReads, billingStore, simulationJobs } from '../../shared/composition/billing.js';
import { tenantDirectory } from '../../shared/composition/tenancy.js';
import { createBillingAdminApi } from './billing-admin.js';

const directory = tenantDirectory();
const store = billingStore();
const alerts = alertStore();
const publisher = eventPublisher();

export const handler = createBillingAdminApi({
  store,
  reads: billingReads(store),
  simulations: simulationJobs(),
  newId: randomUUID,
  tenantExists: async (tenantId) => (await directory.getTenant(tenantId)) !== undefined,
  meters: (tenantId) => directory.listMeters(tenantId),
  publish: (event) => publisher.publish(event),
  defaultAlerts: async (tenantId, plan) => {
    for (const alert of defaultAlerts(tenantId, includedQuotas(plan), new Date().toISOString())) await alerts.createAlert(alert);
  },
  now: Date.now,
});
