import { DynamoBillingStore } from '../billing/adapters/billing-store.js';
import { DynamoFleetReads } from '../billing/adapters/fleet-reads.js';
import { DynamoSimulationJobs } from '../billing/adapters/simulation-jobs.js';
import type { BillingReads } from '../billing/ports.js';
import { tableName } from '../platform/dynamo/tables.js';
import { dynamo } from './clients.js';
import { counterPrefetch, meterReader } from './metering.js';
import { tenantDirectory } from './tenancy.js';

export const billingStore = () => new DynamoBillingStore(dynamo(), tableName('billing'));

/** What pricing reads: plans from the billing table, meters from the tenant directory, quantities from the counters. */
export const billingReads = (store = billingStore()): BillingReads => {
  const directory = tenantDirectory();
  const reader = meterReader();
  return {
    plan: (planId) => store.getPlan(planId),
    meters: (tenantId) => directory.listMeters(tenantId),
    quantity: (tenantId, meter, period, asOf) => reader.quantity(tenantId, meter, period, asOf),
  };
};

/** Fleet simulation jobs and their pages, in the billing table. */
export const simulationJobs = () => new DynamoSimulationJobs(dynamo(), tableName('billing'));

/** The fleet as a simulation job reads it: subscriptions a page at a time, invoices and meters per tenant, counters in batches. */
export const fleetReads = (store = billingStore()) => {
  const directory = tenantDirectory();
  return new DynamoFleetReads({ store, meters: (tenantId) => directory.listMeters(tenantId), counters: counterPrefetch });
};
