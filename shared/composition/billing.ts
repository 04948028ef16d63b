import { DynamoBillingStore } from '../billing/adapters/billing-store.js';
import type { BillingReads } from '../billing/ports.js';
import { tableName } from '../platform/dynamo/tables.js';
import { dynamo } from './clients.js';
import { meterReader } from './metering.js';
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
