import { SQSClient } from '@aws-sdk/client-sqs';
import { required, settings } from './config.js';
import { documentClient } from './dynamo/client.js';
import { tableName } from './dynamo/tables.js';
import { DynamoAlertStore } from './dynamo/alert-store.js';
import { DynamoTenantDirectory } from './dynamo/tenant-directory.js';
import { DynamoUsageStore } from './dynamo/usage-store.js';
import { SqsUsageQueue } from './sqs/usage-queue.js';

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
