import { DynamoCorrectionStore } from '../metering/adapters/correction-store.js';
import { CounterPrefetch } from '../metering/adapters/counter-prefetch.js';
import { DynamoCounterReader } from '../metering/adapters/counter-reader.js';
import { DynamoLedgerReader } from '../metering/adapters/ledger-reader.js';
import { DynamoQuarantineReplay } from '../metering/adapters/quarantine-replay.js';
import { DynamoRecomputeJobs } from '../metering/adapters/recompute-jobs.js';
import { DynamoRecomputeStore } from '../metering/adapters/recompute-store.js';
import { DynamoRejectionStore } from '../metering/adapters/rejection-store.js';
import { SqsUsageQueue } from '../metering/adapters/usage-queue.js';
import { DynamoUsageWriter } from '../metering/adapters/usage-writer.js';
import { meterQuantities } from '../metering/period-usage.js';
import { required, settings } from '../platform/config.js';
import { tableName } from '../platform/dynamo/tables.js';
import { dynamo, sendMessageBatch } from './clients.js';

export const usageWriter = () =>
  new DynamoUsageWriter(dynamo(), {
    eventsTable: tableName('events'),
    countersTable: tableName('counters'),
    ledgerRetentionDays: settings().ledgerRetentionDays,
  });

export const ledgerReader = () => new DynamoLedgerReader(dynamo(), tableName('events'));

export const quarantineReplay = () =>
  new DynamoQuarantineReplay(dynamo(), { eventsTable: tableName('events'), ledger: ledgerReader(), writer: usageWriter() });

export const correctionStore = () =>
  new DynamoCorrectionStore(dynamo(), { eventsTable: tableName('events'), countersTable: tableName('counters') });

export const recomputeStore = () =>
  new DynamoRecomputeStore(dynamo(), { eventsTable: tableName('events'), countersTable: tableName('counters') });

export const recomputeJobs = () => new DynamoRecomputeJobs(dynamo(), tableName('events'), settings().ledgerRetentionDays);

export const rejectionStore = () => new DynamoRejectionStore(dynamo(), tableName('rejections'), settings().ledgerRetentionDays);

export const usageQueue = () => new SqsUsageQueue(sendMessageBatch(), required('USAGE_QUEUE_URL'));

/** Meter totals and series as the counters hold them. */
export const counterReader = () => new DynamoCounterReader(dynamo(), tableName('counters'));

/** Meter totals of many tenants read ahead in batches, the rest as `counterReader` reads it. */
export const counterPrefetch = () => new CounterPrefetch(dynamo(), tableName('counters'), counterReader());

/** Billed quantities and gauge levels, read from the counters. */
export const meterReader = () => meterQuantities(counterReader());
