import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createIngest } from '../../functions/ingest/ingest.js';
import { SqsUsageQueue } from '../../shared/metering/adapters/usage-queue.js';
import { DynamoUsageStore } from '../../shared/metering/adapters/usage-store.js';
import type { UsageEvent } from '../../shared/metering/events.js';
import { packMessages, parseMessage } from '../../shared/metering/queue-messages.js';
import { seedMeters } from '../../shared/metering/seed-meters.js';
import { documentClient } from '../../shared/platform/dynamo/client.js';
import { httpEvent, lambdaContext } from '../support/events.js';

const event = (id: string): UsageEvent => ({
  tenantId: 'acme',
  id,
  meter: 'orders',
  aggregation: 'COUNT',
  value: '1',
  groupKey: '',
  timestamp: '2026-11-23T10:00:00.000Z',
  payloadHash: id,
  receivedAt: '2026-11-23T10:00:01.000Z',
});
const named = (name: string, extra: object = {}) => Object.assign(new Error(name), { name, ...extra });

describe('packing events into SQS messages', () => {
  it('packs many events per message and round-trips them', () => {
    const events = Array.from({ length: 1000 }, (_, i) => event(`e${i}`));
    const messages = packMessages(events);
    expect(messages).toHaveLength(1);
    expect(parseMessage(messages[0]!.body)).toEqual(events);
    expect(packMessages(events, 16 * 1024).length).toBeGreaterThan(5);
    expect(parseMessage('Message Body')).toBeUndefined();
  });
});

describe('SqsUsageQueue', () => {
  const sqs = mockClient(SQSClient);
  beforeEach(() => sqs.reset());
  const big = Array.from({ length: 3000 }, (_, i) => ({ ...event(`e${i}`), properties: JSON.stringify({ note: 'x'.repeat(200) }) }));

  it('retries the entries a batch send refused, until SQS takes them', async () => {
    let first = true;
    sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => {
      if (first) {
        first = false;
        return { Successful: [], Failed: input.Entries.slice(0, 1).map((e) => ({ Id: e.Id, Code: 'InternalError', SenderFault: false })) };
      }
      return { Successful: input.Entries.map((e) => ({ Id: e.Id })), Failed: [] };
    });
    const outcome = await new SqsUsageQueue(new SQSClient({}), 'q').send(big);
    expect(outcome.failed).toEqual([]);
    expect(outcome.calls).toBeGreaterThan(1);
  });

  it('reports as not durable what SQS never took', async () => {
    sqs.on(SendMessageBatchCommand).rejects(named('ServiceUnavailable'));
    const outcome = await new SqsUsageQueue(new SQSClient({}), 'q', 2).send(big.slice(0, 10));
    expect(outcome.failed).toHaveLength(10);
  });
});

describe('ingest when SQS cannot make events durable', () => {
  const sqs = mockClient(SQSClient);
  beforeEach(() => sqs.reset());

  it('answers 503 naming each event to retry, and never reports it accepted', async () => {
    sqs.on(SendMessageBatchCommand).rejects(named('ServiceUnavailable'));
    const queue = new SqsUsageQueue(new SQSClient({}), 'q', 2);
    const ingest = createIngest({
      meters: async () => new Map(seedMeters.map((m) => [m.key, m])),
      tenantExists: async () => true,
      existing: async () => new Map(),
      recordRejections: async () => undefined,
      enqueue: (events) => queue.send(events),
      graceHours: 72,
      invoiced: async () => false,
      now: () => Date.parse('2026-11-23T10:00:00Z'),
    });
    const body = [
      { id: 'o1', meter: 'orders', timestamp: '2026-11-23T09:59:00Z' },
      { id: 'o2', meter: 'nope', timestamp: '2026-11-23T09:59:00Z' },
    ];
    const res = await ingest(httpEvent({ routeKey: 'POST /v1/events', body, tenantId: 'acme' }), lambdaContext());
    expect(res.statusCode).toBe(503);
    const parsed = JSON.parse(res.body!);
    expect(parsed).toMatchObject({ code: 'SERVICE_UNAVAILABLE', accepted: 0, failed: 1, rejected: 1 });
    expect(parsed.results[0]).toMatchObject({ id: 'o1', status: 'failed', code: 'NOT_DURABLE' });
  });
});

describe('DynamoUsageStore under DynamoDB faults', () => {
  const ddb = mockClient(DynamoDBDocumentClient);
  beforeEach(() => ddb.reset());
  const store = () =>
    new DynamoUsageStore(documentClient(new DynamoDBClient({})), {
      eventsTable: 'events',
      countersTable: 'counters',
      ledgerRetentionDays: 40,
      maxAttempts: 4,
    });

  it('backs off through throttling and commits once', async () => {
    let calls = 0;
    ddb.on(TransactWriteCommand).callsFake(() => {
      calls += 1;
      if (calls <= 2) throw named('ProvisionedThroughputExceededException');
      return { ConsumedCapacity: [{ CapacityUnits: 8 }] };
    });
    const outcome = await store().commit([event('a')]);
    expect(outcome).toMatchObject({ failed: [], duplicates: [], writeUnits: 8 });
    expect(outcome.counted.map((e) => e.id)).toEqual(['a']);
    expect(calls).toBe(3);
  });

  it('hands events back for redelivery when throttling outlasts its retries', async () => {
    ddb.on(TransactWriteCommand).rejects(named('ThrottlingException'));
    const outcome = await store().commit([event('a'), event('b')]);
    expect(outcome.failed.map((e) => e.id).sort()).toEqual(['a', 'b']);
    expect(outcome.counted).toEqual([]);
  });

  it('drops an event the ledger already holds and commits the rest without it', async () => {
    const sent: number[] = [];
    ddb.on(TransactWriteCommand).callsFake((input: { TransactItems: unknown[] }) => {
      sent.push(input.TransactItems.length);
      if (sent.length === 1) {
        // Item 0 is event "a"'s ledger entry: already there.
        throw named('TransactionCanceledException', {
          CancellationReasons: input.TransactItems.map((_, i) => ({ Code: i === 0 ? 'ConditionalCheckFailed' : 'None' })),
        });
      }
      return {};
    });
    const outcome = await store().commit([event('a'), event('b')]);
    expect(outcome.duplicates.map((e) => e.id)).toEqual(['a']);
    expect(outcome.counted.map((e) => e.id)).toEqual(['b']);
    expect(sent).toEqual([5, 4]);
  });
});
