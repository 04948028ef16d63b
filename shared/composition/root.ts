import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoAlertStore } from '../alerts/adapters/alert-store.js';
import { SqsDeliveryQueue } from '../alerts/adapters/delivery-queue.js';
import { EventBridgeBus } from '../alerts/adapters/event-bus.js';
import { DynamoWebhookStore } from '../alerts/adapters/webhook-store.js';
import type { DomainEventPublisher } from '../alerts/domain-events.js';
import { notificationPublisher } from '../alerts/notifications.js';
import { DynamoBillingStore } from '../billing/adapters/billing-store.js';
import type { BillingReads } from '../billing/ports.js';
import { DynamoCorrectionStore } from '../metering/adapters/correction-store.js';
import { DynamoCounterReader } from '../metering/adapters/counter-reader.js';
import { DynamoRecomputeJobs } from '../metering/adapters/recompute-jobs.js';
import { DynamoRecomputeStore } from '../metering/adapters/recompute-store.js';
import { DynamoRejectionStore } from '../metering/adapters/rejection-store.js';
import { SqsUsageQueue } from '../metering/adapters/usage-queue.js';
import { DynamoUsageStore } from '../metering/adapters/usage-store.js';
import { meterQuantities } from '../metering/period-usage.js';
import { required, settings } from '../platform/config.js';
import { documentClient } from '../platform/dynamo/client.js';
import { tableName } from '../platform/dynamo/tables.js';
import { SqsReportQueue } from '../stripe/adapters/report-queue.js';
import { DynamoTenantDirectory } from '../tenancy/adapters/tenant-directory.js';

/**
 * The composition root: each function's handler.ts builds what it needs from its environment, once
 * per container. Tests build the same objects around their own clients. Stripe's builders live in
 * shared/composition/stripe.ts, so that only the functions that talk to Stripe bundle its client.
 */
let db: ReturnType<typeof documentClient> | undefined;
export const dynamo = () => (db ??= documentClient());

export const tenantDirectory = () => new DynamoTenantDirectory(dynamo(), tableName('tenants'));

export const usageStore = () =>
  new DynamoUsageStore(dynamo(), {
    eventsTable: tableName('events'),
    countersTable: tableName('counters'),
    ledgerRetentionDays: settings().ledgerRetentionDays,
  });

export const correctionStore = () =>
  new DynamoCorrectionStore(dynamo(), { eventsTable: tableName('events'), countersTable: tableName('counters') });

export const recomputeStore = () =>
  new DynamoRecomputeStore(dynamo(), { eventsTable: tableName('events'), countersTable: tableName('counters') });

export const recomputeJobs = () => new DynamoRecomputeJobs(dynamo(), tableName('events'), settings().ledgerRetentionDays);

export const rejectionStore = () => new DynamoRejectionStore(dynamo(), tableName('rejections'), settings().ledgerRetentionDays);

export const alertStore = () => new DynamoAlertStore(dynamo(), tableName('tenants'));

export const usageQueue = () => new SqsUsageQueue(new SQSClient({}), required('USAGE_QUEUE_URL'));

export const billingStore = () => new DynamoBillingStore(dynamo(), tableName('billing'));

/** Billed quantities and gauge levels, read from the counters. */
export const meterReader = () => meterQuantities(new DynamoCounterReader(dynamo(), tableName('counters')));

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

export const webhookStore = () => new DynamoWebhookStore(dynamo(), tableName('webhooks'));

let sqs: SQSClient | undefined;
const sqsClient = () => {
  sqs ??= new SQSClient({});
  return sqs;
};
export const deliveryQueue = () => new SqsDeliveryQueue(sqsClient(), required('WEBHOOK_QUEUE_URL'));

/** The Stripe report's slices (no Stripe client: the planner only lists tenants and sends). */
export const reportQueue = () => new SqsReportQueue(sqsClient(), required('REPORT_QUEUE_URL'));

/** Local runs only (the local stack sets it): webhook receivers on 127.0.0.1 may be registered and called. */
export const allowLoopbackWebhooks = () => process.env.WEBHOOK_ALLOW_LOOPBACK === 'true';

/** Domain events onto the event bus and the tenants' webhook endpoints. */
export const eventPublisher = (): DomainEventPublisher => {
  const store = webhookStore();
  return notificationPublisher({
    bus: new EventBridgeBus(new EventBridgeClient({}), required('EVENT_BUS_NAME')),
    endpoints: store,
    deliveries: store,
    queue: deliveryQueue(),
    now: Date.now,
  });
};
