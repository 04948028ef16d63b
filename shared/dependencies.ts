import { SQSClient } from '@aws-sdk/client-sqs';
import { required, settings } from './config.js';
import { documentClient } from './dynamo/client.js';
import { tableName } from './dynamo/tables.js';
import { DynamoAlertStore } from './dynamo/alert-store.js';
import type { BillingReads } from './billing.js';
import { DynamoBillingStore } from './dynamo/billing-store.js';
import { DynamoMeterReader } from './dynamo/meter-reader.js';
import { DynamoTenantDirectory } from './dynamo/tenant-directory.js';
import { DynamoUsageStore } from './dynamo/usage-store.js';
import { SqsUsageQueue } from './sqs/usage-queue.js';
import { DynamoStripeStore } from './dynamo/stripe-store.js';
import { stripeFromEnvironment, stripePace } from './stripe/environment.js';
import { StripeUsageReporter } from './stripe/usage-reporter.js';
import { StripeWebhookAdapter } from './stripe/webhooks.js';

/**
 * The composition root: each function's handler.ts builds what it needs from its environment, once
 * per container. Tests build the same objects around their own clients.
 */
let db: ReturnType<typeof documentClient> | undefined;
const dynamo = () => (db ??= documentClient());

export const tenantDirectory = () => new DynamoTenantDirectory(dynamo(), tableName('tenants'));

export const usageStore = () =>
  new DynamoUsageStore(dynamo(), {
    eventsTable: tableName('events'),
    countersTable: tableName('counters'),
    ledgerRetentionDays: settings().ledgerRetentionDays,
  });

export const alertStore = () => new DynamoAlertStore(dynamo(), tableName('tenants'));

export const usageQueue = () => new SqsUsageQueue(new SQSClient({}), required('USAGE_QUEUE_URL'));

export const stripeStore = () => new DynamoStripeStore(dynamo(), tableName('stripe'));

/** Stripe's client and secrets load on first use (Secrets Manager in AWS, the environment locally). */
let stripeAccess: ReturnType<typeof stripeFromEnvironment> | undefined;
const stripe = () => (stripeAccess ??= stripeFromEnvironment());

export const usageReporter = () => new StripeUsageReporter(async () => (await stripe()()).stripe, stripePace());

export const stripeWebhooks = () => new StripeWebhookAdapter(stripe());

export const billingStore = () => new DynamoBillingStore(dynamo(), tableName('billing'));

export const meterReader = () => new DynamoMeterReader(dynamo(), tableName('counters'));

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
