import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createIngest } from '../../functions/ingest/ingest.js';
import { httpEvent } from '../../local/http-event.js';
import { lambdaContext } from '../../local/lambda.js';
import { SqsUsageQueue } from '../../shared/metering/adapters/usage-queue.js';
import { DynamoUsageWriter } from '../../shared/metering/adapters/usage-writer.js';
import type { UsageEvent } from '../../shared/metering/events.js';
import { packMessages, parseMessage } from '../../shared/metering/queue-messages.js';
import { seedMeters } from '../../shared/metering/seed-meters.js';
import type { SendMessageBatch } from '../../shared/platform/aws/sqs.js';
import { documentClient } from '../../shared/platform/dynamo/client.js';

/** The queue's one call, through the SDK client the mock answers for. */
const sdkSend: SendMessageBatch = (input) => new SQSClient({}).send(new SendMessageBatchCommand(input));

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
    const parsed = parseMessage(messages[0]!.body, 'sqs-id');
    expect(parsed!.events).toEqual(events);
    // The message's own id, not SQS's: a redrive gives the same body a new SQS message id.
    expect(parsed!.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(parseMessage(JSON.stringify({ events }), 'sqs-id')!.id).toBe('sqs-id');
    const small = packMessages(events, 16 * 1024);
    expect(small.length).toBeGreaterThan(5);
    expect(small.every((m) => Buffer.byteLength(m.body) <= 16 * 1024)).toBe(true);
    expect(parseMessage('Message Body', 'sqs-id')).toBeUndefined();
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
    const outcome = await new SqsUsageQueue(sdkSend, 'q').send(big);
    expect(outcome.failed).toEqual([]);
    expect(outcome.calls).toBeGreaterThan(1);
  });

  it('reports as not durable what SQS never took', async () => {
    sqs.on(SendMessageBatchCommand).rejects(named('ServiceUnavailable'));
    const outcome = await new SqsUsageQueue(sdkSend, 'q', 2).send(big.slice(0, 10));
    expect(outcome.failed).toHaveLength(10);
  });
});

describe('ingest when SQS cannot make events durable', () => {
  const sqs = mockClient(SQSClient);
  beforeEach(() => sqs.reset());

  it('answers 503 naming each event to retry, and never reports it accepted', async () => {
    sqs.on(SendMessageBatchCommand).rejects(named('ServiceUnavailable'));
    const queue = new SqsUsageQueue(sdkSend, 'q', 2);
    const ingest = createIngest({
      meters: async () => new Map(seedMeters.map((m) => [m.key, m])),
      tenantExists: async () => true,
      existing: async () => new Map(),
      recordRejections: async () => undefined,
      keptEvents: async () => [],
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

describe('DynamoUsageWriter under DynamoDB faults', () => {
  const ddb = mockClient(DynamoDBDocumentClient);
  beforeEach(() => ddb.reset());
  const store = () =>
    new DynamoUsageWriter(documentClient(new DynamoDBClient({})), {
      eventsTable: 'events',
      countersTable: 'counters',
      ledgerRetentionDays: 40,
      maxAttempts: 4,
    });

  const message = (...ids: string[]) => [{ id: 'm1', events: ids.map(event) }];

  it('backs off through throttling, claims each entry with one plain put and folds the counters once', async () => {
    let puts = 0;
    let transactions = 0;
    ddb.on(PutCommand).callsFake(() => {
      puts += 1;
      if (puts <= 2) throw named('ProvisionedThroughputExceededException');
      return { ConsumedCapacity: { CapacityUnits: 1 } };
    });
    ddb.on(TransactWriteCommand).callsFake((input: { TransactItems: unknown[] }) => {
      transactions += 1;
      if (transactions === 1) throw named('ThrottlingException');
      // The unit's receipt and the orders counters (hour, day, month, quarter-hour).
      expect(input.TransactItems).toHaveLength(5);
      return { ConsumedCapacity: [{ CapacityUnits: 8 }] };
    });
    const outcome = await store().commit(message('a'));
    expect(outcome).toMatchObject({ failed: [], duplicates: [], writeUnits: 9 });
    expect(outcome.counted.map((e) => e.id)).toEqual(['a']);
    expect([puts, transactions]).toEqual([3, 2]);
  });

  it('hands the message back for redelivery when throttling outlasts its retries, folding nothing', async () => {
    ddb.on(PutCommand).rejects(named('ThrottlingException'));
    const outcome = await store().commit(message('a', 'b'));
    expect(outcome.failed.map((e) => e.id).sort()).toEqual(['a', 'b']);
    expect(outcome.counted).toEqual([]);
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });

  it('tells its own earlier claim (folded unless the receipt exists) from another message’s (a duplicate)', async () => {
    ddb.on(PutCommand).callsFake((input: { Item: { id: string } }) => {
      const by = { a: 'm1#0', b: 'm0#0' }[input.Item.id];
      if (!by) return {};
      throw named('ConditionalCheckFailedException', {
        Item: { claimedBy: { S: by }, payloadHash: { S: input.Item.id }, status: { S: 'counted' } },
      });
    });
    ddb.on(TransactWriteCommand).resolves({});
    const outcome = await store().commit(message('a', 'b', 'c'));
    expect(outcome.duplicates.map((e) => e.id)).toEqual(['b']);
    expect(outcome.counted.map((e) => e.id).sort()).toEqual(['a', 'c']);

    // The same message again, its fold already committed: the receipt is there, nothing is counted twice.
    ddb.on(PutCommand).callsFake((input: { Item: { id: string } }) => {
      throw named('ConditionalCheckFailedException', {
        Item: { claimedBy: { S: input.Item.id === 'b' ? 'm0#0' : 'm1#0' }, payloadHash: { S: input.Item.id }, status: { S: 'counted' } },
      });
    });
    ddb.on(TransactWriteCommand).callsFake((input: { TransactItems: unknown[] }) => {
      throw named('TransactionCanceledException', {
        CancellationReasons: input.TransactItems.map((_, i) => (i === 0 ? { Code: 'ConditionalCheckFailed', Item: {} } : { Code: 'None' })),
      });
    });
    const again = await store().commit(message('a', 'b', 'c'));
    expect(again.counted).toEqual([]);
    expect(again.duplicates.map((e) => e.id).sort()).toEqual(['a', 'b', 'c']);
  });

  it('folds a message sent twice and delivered twice in one batch once', async () => {
    ddb.on(PutCommand).resolves({});
    ddb.on(TransactWriteCommand).resolves({});
    const outcome = await store().commit([...message('a', 'b'), ...message('a', 'b')]);
    expect(outcome.counted.map((e) => e.id).sort()).toEqual(['a', 'b']);
    expect(outcome.duplicates.map((e) => e.id).sort()).toEqual(['a', 'b']);
    expect(ddb.commandCalls(PutCommand)).toHaveLength(2);
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(1);
  });
});
