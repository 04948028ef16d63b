import { AsyncLocalStorage } from 'node:async_hooks';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsumer } from '../../functions/consumer/consumer.js';
import type { LocalStack } from '../../local/stack.js';
import { Dec } from '../../shared/kernel/decimal.js';
import { type Granularity, granularities, periodKey } from '../../shared/kernel/periods.js';
import { DynamoCounterReader } from '../../shared/metering/adapters/counter-reader.js';
import { DynamoLedgerReader } from '../../shared/metering/adapters/ledger-reader.js';
import { DynamoUsageWriter } from '../../shared/metering/adapters/usage-writer.js';
import type { Meter } from '../../shared/metering/meters.js';
import { documentClient } from '../../shared/platform/dynamo/client.js';
import { httpDocuments } from '../../shared/platform/dynamo/http-documents.js';
import { cancelled, throttled } from '../support/fake-documents.js';
import { interceptWrites, refuseEventWrites } from '../support/faults.js';
import { api, createTenant, startTestStack } from '../support/stack.js';

/**
 * The acceptance test of the ingestion spine: 10,000 events posted in batches of 100, 10% of them
 * re-sent, one malformed event and one poison event (valid, but refused by DynamoDB) per batch, while the
 * consumer crashes before and after its ledger claims and its folds, is throttled and meets transaction conflicts. Every counter
 * must equal the ground truth computed here, every poison event be quarantined once, and the DLQ hold only
 * the one message nobody can read.
 */
const meters: Meter[] = [
  { key: 'orders', name: 'Orders', unit: 'order', aggregation: 'COUNT', groupBy: [] },
  { key: 'tokens', name: 'Tokens', unit: 'token', aggregation: 'SUM', valueProperty: 'tokens', groupBy: ['model'] },
  { key: 'peak', name: 'Peak', unit: 'rps', aggregation: 'MAX', groupBy: [] },
  { key: 'storage_gb', name: 'Storage', unit: 'GB', aggregation: 'LATEST', groupBy: [] },
  { key: 'seats', name: 'Seats', unit: 'user', aggregation: 'UNIQUE_COUNT', valueProperty: 'user_id', groupBy: [] },
  { key: 'gpus', name: 'GPUs', unit: 'GPU', aggregation: 'TIME_WEIGHTED', per: 'minute', groupBy: ['pool'] },
  { key: 'latency', name: 'Latency', unit: 'ms', aggregation: 'AVG', groupBy: [] },
  { key: 'battery', name: 'Battery', unit: '%', aggregation: 'MIN', groupBy: [] },
];

interface Posted {
  id: string;
  meter: string;
  timestamp: string;
  value?: number | string;
  properties?: Record<string, unknown>;
}

// A seeded generator keeps the run reproducible.
let seed = 42;
const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

function newEvent(n: number, now: number): Posted {
  const timestamp = new Date(now - Math.floor(random() * 3 * 3_600_000)).toISOString();
  const id = `evt-${n}`;
  switch (n % 8) {
    case 0:
      return { id, meter: 'orders', timestamp };
    case 1:
      return {
        id,
        meter: 'tokens',
        timestamp,
        properties: { tokens: (Math.floor(random() * 5_000_000) / 1000).toString(), model: pick(['small', 'large']) },
      };
    case 2:
      return { id, meter: 'peak', timestamp, value: Math.floor(random() * 100_000) / 100 };
    case 3:
      return { id, meter: 'storage_gb', timestamp, value: Math.floor(random() * 10_000) / 10 };
    case 4:
      return { id, meter: 'seats', timestamp, properties: { user_id: `user-${Math.floor(random() * 60)}` } };
    case 5:
      return { id, meter: 'gpus', timestamp, value: Math.floor(random() * 64) / 4, properties: { pool: pick(['a', 'b']) } };
    case 6:
      return { id, meter: 'latency', timestamp, value: Math.floor(random() * 100_000) / 1000 };
    default:
      return { id, meter: 'battery', timestamp, value: Math.floor(random() * 1_000) / 10 };
  }
}

const malformed: [unknown, string][] = [
  [{ id: 'bad', meter: 'nope', timestamp: new Date().toISOString() }, 'UNKNOWN_METER'],
  [{ id: 'bad', meter: 'peak', timestamp: new Date().toISOString(), value: -3 }, 'INVALID_VALUE'],
  [{ id: 'bad', meter: 'orders', timestamp: new Date(Date.now() + 3_600_000).toISOString() }, 'TIMESTAMP_IN_FUTURE'],
  [{ meter: 'orders', timestamp: new Date().toISOString() }, 'INVALID_EVENT'],
  [{ id: 'bad', meter: 'tokens', timestamp: new Date().toISOString(), properties: { tokens: 'lots' } }, 'INVALID_VALUE'],
];

type Truth = Map<string, { value: InstanceType<typeof Dec>; latest?: string; users?: Set<string>; events: number }>;

/** Ground truth, computed without any of the production aggregation code. */
function groundTruth(events: Posted[]): Truth {
  const truth: Truth = new Map();
  for (const e of events) {
    const meter = meters.find((m) => m.key === e.meter)!;
    const by = meter.groupBy[0];
    const groups = by ? ['', `${by}=${e.properties![by]}`] : [''];
    for (const group of groups) {
      for (const g of granularities) {
        const key = `${e.meter}|${group}|${g}|${periodKey(g, Date.parse(e.timestamp))}`;
        const t = truth.get(key) ?? { value: new Dec(0), events: 0, users: new Set<string>() };
        t.events += 1;
        switch (meter.aggregation) {
          case 'COUNT':
            t.value = t.value.plus(1);
            break;
          case 'SUM':
            t.value = t.value.plus(String(e.properties!.tokens));
            break;
          case 'MAX':
            t.value = Dec.max(t.value, String(e.value));
            break;
          case 'LATEST': {
            const stamp = `${new Date(e.timestamp).toISOString()}|${e.id}`;
            if (!t.latest || stamp > t.latest) {
              t.latest = stamp;
              t.value = new Dec(String(e.value));
            }
            break;
          }
          case 'UNIQUE_COUNT':
            t.users!.add(String(e.properties!.user_id));
            t.value = new Dec(t.users!.size);
            break;
          case 'AVG':
            // The sum here; the mean is taken when compared.
            t.value = t.value.plus(String(e.value));
            break;
          case 'MIN':
            t.value = t.events === 1 ? new Dec(String(e.value)) : Dec.min(t.value, String(e.value));
            break;
        }
        truth.set(key, t);
      }
    }
  }
  return truth;
}

/**
 * A TIME_WEIGHTED meter's truth over [start, end), in GPU-minutes: per pool, the step function of its readings (the
 * newest by time, then id, holds) sampled at every instant where it changes, computed without production code.
 */
function gaugeTruth(events: Posted[], start: number, end: number): InstanceType<typeof Dec> {
  let total = new Dec(0);
  for (const pool of ['a', 'b']) {
    const readings = events
      .filter((e) => e.meter === 'gpus' && e.properties!.pool === pool)
      .map((e) => ({ at: Date.parse(e.timestamp), id: e.id, value: String(e.value) }))
      .sort((x, y) => x.at - y.at || (x.id < y.id ? -1 : 1));
    const levelAt = (instant: number) => readings.filter((r) => r.at <= instant).at(-1)?.value ?? '0';
    const changes = [start, ...readings.map((r) => r.at).filter((at) => at > start && at < end), end];
    for (let i = 0; i + 1 < changes.length; i++) total = total.plus(new Dec(levelAt(changes[i]!)).times(changes[i + 1]! - changes[i]!));
  }
  return total.div(60_000).toDecimalPlaces(6, Dec.ROUND_HALF_UP);
}

const isPoison = (id: string) => id.startsWith('poison-');

describe('exactly once under duplicates, malformed and poison events, crashes, throttling and conflicts', () => {
  let stack: LocalStack;
  let key: string;
  const faults = {
    writes: 0,
    folds: 0,
    crashesBefore: 0,
    crashesAfter: 0,
    crashesBeforeFold: 0,
    crashesAfterFold: 0,
    throttles: 0,
    conflicts: 0,
    refusals: 0,
    crashedInvocations: 0,
  };
  /** Quarantine entries the consumer wrote, by event id. */
  const quarantineWrites = new Map<string, number>();
  // Each invocation that may crash is dealt a fate in turn: crash before or right after its first write (a ledger
  // claim), or before or right after its first fold (a transaction), when its claims are all written. The others run
  // clean: a message's third delivery, and every invocation once 40 have crashed.
  type Fate = 'clean' | 'crash-before' | 'crash-after' | 'crash-before-fold' | 'crash-after-fold';
  const fates: Fate[] = ['crash-before', 'crash-after', 'crash-before-fold', 'crash-after-fold'];
  const invocation = new AsyncLocalStorage<{ fate: Fate; crashed: boolean; writes: number; folds: number; committedFolds: number }>();
  let invocations = 0;

  beforeAll(async () => {
    stack = await startTestStack({
      consumerConcurrency: 2,
      // Five messages an invocation, not the ten deployed: twice the invocations, and each may crash (a message at most
      // twice; its third delivery runs clean), so each crash point is met about six times.
      consumerBatchSize: 5,
      // As AWS requires, longer than an invocation runs (here up to ~15 s on a loaded machine): a shorter one
      // would deliver a batch again while it is still being folded, and count receives towards the DLQ.
      visibilityTimeoutSeconds: 20,
      // A failed batch comes back after a second, not the visibility timeout: the same redeliveries, minutes sooner.
      consumerRetryDelaySeconds: 1,
      consumer: () => {
        // The real consumer, on production's DynamoDB transport, failing the way production can: each write passes
        // through here on its way out.
        const db = interceptWrites(refuseEventWrites(httpDocuments(), isPoison), async (write, next) => {
          // The consumer's writes: ledger claims (puts), fold transactions, and the update that quarantines a claimed event.
          const transaction = write.kind === 'transactWrite';
          const state = invocation.getStore()!;
          const n = ++faults.writes;
          if (transaction) faults.folds += 1;
          const crash = () => {
            state.crashed = true;
            throw Object.assign(new Error('injected crash'), { name: 'InjectedCrash' });
          };
          // A crashed process writes nothing more.
          if (state.crashed) crash();
          // Claims go out in parallel: each write remembers its own place in the invocation.
          const nth = ++state.writes;
          const folds = transaction ? ++state.folds : 0;
          if (state.fate === 'crash-before' && nth === 1) {
            faults.crashesBefore += 1;
            crash();
          }
          if (state.fate === 'crash-before-fold' && folds === 1) {
            faults.crashesBeforeFold += 1;
            crash();
          }
          if (n % 7 === 0 && faults.throttles < 80) {
            faults.throttles += 1;
            throw throttled();
          }
          if (transaction && faults.folds % 5 === 0 && faults.conflicts < 40) {
            faults.conflicts += 1;
            throw cancelled('TransactionConflict');
          }
          const result = await next().catch((error: Error) => {
            if (error.name === 'ValidationException') faults.refusals += 1;
            throw error;
          });
          const put = write.kind === 'put' ? (write.input.Item as { id?: string; status?: string }) : undefined;
          if (put?.status === 'quarantined') quarantineWrites.set(put.id!, (quarantineWrites.get(put.id!) ?? 0) + 1);
          // The write is committed, then the process dies before it can say so.
          if (state.fate === 'crash-after' && nth === 1) {
            faults.crashesAfter += 1;
            crash();
          }
          // After the first fold that commits: a throttled or conflicting first attempt does not spend the fate.
          if (state.fate === 'crash-after-fold' && transaction && ++state.committedFolds === 1) {
            faults.crashesAfterFold += 1;
            crash();
          }
          return result;
        });
        const store = new DynamoUsageWriter(db, {
          eventsTable: process.env.EVENTS_TABLE!,
          countersTable: process.env.COUNTERS_TABLE!,
          ledgerRetentionDays: 40,
        });
        const consumer = createConsumer({
          commit: (events) => store.commit(events),
          recordRejections: async () => undefined,
          publish: async () => undefined,
          streams: async () => false,
          now: Date.now,
        });
        return async (event: SQSEvent, context) => {
          // Never crash a message so often that it would reach the DLQ: that is the poison message's fate only.
          const mayCrash = event.Records.every((r) => Number(r.attributes.ApproximateReceiveCount) < 3) && faults.crashedInvocations < 40;
          const state = {
            fate: mayCrash ? fates[invocations++ % fates.length]! : 'clean',
            crashed: false,
            writes: 0,
            folds: 0,
            committedFolds: 0,
          };
          const response = await invocation.run(state, () => consumer(event, context));
          if (state.crashed) {
            faults.crashedInvocations += 1;
            throw new Error('the invocation crashed');
          }
          return response;
        };
      },
    });
    key = await createTenant(stack, 'acme', meters);
  });
  afterAll(() => stack?.stop());

  it('counts every event exactly once, quarantines every poison one once and reports every malformed one', async () => {
    const now = Date.now() - 60_000;
    const sent: Posted[] = [];
    const poison: Posted[] = [];
    const batches: unknown[][] = [];
    let n = 0;
    for (let b = 0; b < 100; b++) {
      const batch: unknown[] = [];
      for (let i = 0; i < 88; i++) {
        const e = newEvent(n++, now);
        sent.push(e);
        batch.push(e);
      }
      // One event DynamoDB refuses, of a meter in turn, among its neighbours.
      const refused = { ...newEvent(n++, now), id: `poison-${b}` };
      poison.push(refused);
      batch.splice(Math.floor(random() * batch.length), 0, refused);
      // 10 re-sent duplicates: earlier events (poison ones too), some already counted, some still in flight, some in this very batch.
      for (let i = 0; i < 10; i++) batch.push(i === 0 && b % 4 === 0 ? pick(poison) : pick(sent));
      const [bad, code] = malformed[b % malformed.length]!;
      batch.splice(Math.floor(random() * batch.length), 0, bad);
      batches.push(batch);

      const res = await api(stack, 'POST', '/v1/events', key, batch);
      expect(res.status).toBe(202);
      const rejected = res.body.results.filter((r: { status: string }) => r.status === 'rejected');
      expect(rejected).toHaveLength(1);
      expect(rejected[0].code).toBe(code);
      expect(res.body.accepted + res.body.duplicates).toBe(99);
    }
    // Each pool's gauge falls to 0 at the end, so nothing it holds afterwards depends on when it is read.
    const ends = ['a', 'b'].map((pool) => ({
      id: `gpus-end-${pool}`,
      meter: 'gpus',
      timestamp: new Date(now).toISOString(),
      value: 0,
      properties: { pool },
    }));
    sent.push(...ends);
    expect((await api(stack, 'POST', '/v1/events', key, ends)).status).toBe(202);
    // A client that lost five responses sends those batches again.
    for (let i = 0; i < 5; i++) {
      const res = await api(stack, 'POST', '/v1/events', key, batches[i * 17]!);
      expect(res.status).toBe(202);
      expect(res.body.rejected).toBe(1);
    }
    // One message no consumer can read: it, and only it, must end in the DLQ.
    await stack.sqs.send(new SendMessageCommand({ QueueUrl: stack.queues.usageQueueUrl, MessageBody: '{"not":"usage"}' }));

    await stack.drained(480_000);
    console.log('injected faults', JSON.stringify(faults));

    expect(faults.crashesBefore).toBeGreaterThan(0);
    expect(faults.crashesAfter).toBeGreaterThan(0);
    expect(faults.crashesBeforeFold).toBeGreaterThan(0);
    expect(faults.crashesAfterFold).toBeGreaterThan(0);
    expect(faults.throttles).toBeGreaterThan(0);
    expect(faults.conflicts).toBeGreaterThan(0);
    expect(faults.refusals).toBeGreaterThan(0);

    const truth = groundTruth(sent);
    const from = new Date(Math.min(...sent.map((e) => Date.parse(e.timestamp))) - 3_600_000).toISOString();
    const to = new Date(Date.now() + 3_600_000).toISOString();
    let compared = 0;
    for (const meter of meters) {
      for (const g of ['hour', 'day', 'month'] as Granularity[]) {
        const res = await api(stack, 'GET', `/v1/usage?meter=${meter.key}&granularity=${g}&from=${from}&to=${to}`, key);
        expect(res.status).toBe(200);
        for (const bucket of res.body.data as { periodStart: string; periodEnd: string; value: string | null; events: number }[]) {
          const t = truth.get(`${meter.key}||${g}|${periodKey(g, Date.parse(bucket.periodStart))}`);
          expect({ meter: meter.key, g, at: bucket.periodStart, events: bucket.events }).toEqual({
            meter: meter.key,
            g,
            at: bucket.periodStart,
            events: t?.events ?? 0,
          });
          if (meter.aggregation === 'TIME_WEIGHTED') {
            const want = gaugeTruth(sent, Date.parse(bucket.periodStart), Date.parse(bucket.periodEnd));
            expect(new Dec(bucket.value!).eq(want), `${meter.key} ${g} ${bucket.periodStart}: ${bucket.value} vs ${want}`).toBe(true);
            compared += 1;
          } else if (t) {
            const want = meter.aggregation === 'AVG' ? t.value.div(t.events).toDecimalPlaces(6, Dec.ROUND_HALF_UP) : t.value;
            expect(new Dec(bucket.value!).eq(want), `${meter.key} ${g} ${bucket.periodStart}: ${bucket.value} vs ${want}`).toBe(true);
            compared += 1;
          }
        }
      }
    }
    expect(compared).toBeGreaterThan(20);

    // Group counters, read straight from the table.
    const counters = new DynamoCounterReader(documentClient(stack.dynamo), stack.env.COUNTERS_TABLE!);
    for (const model of ['small', 'large']) {
      for (const month of new Set(sent.map((e) => periodKey('month', Date.parse(e.timestamp))))) {
        const [row] = await counters.series('acme', 'tokens', 'month', month, month, `model=${model}`);
        const t = truth.get(`tokens|model=${model}|month|${month}`);
        expect(new Dec(row?.value ?? 0).eq(t?.value ?? 0)).toBe(true);
      }
    }

    // The ledger holds each event once (beside the receipts of the folds).
    let ledgerCount = 0;
    let startKey: Record<string, never> | undefined;
    do {
      const page = await stack.dynamo.send(
        new ScanCommand({
          TableName: stack.env.EVENTS_TABLE!,
          Select: 'COUNT',
          FilterExpression: 'begins_with(pk, :tenant)',
          ExpressionAttributeValues: { ':tenant': { S: 'acme#' } },
          ExclusiveStartKey: startKey,
        }),
      );
      ledgerCount += page.Count ?? 0;
      startKey = page.LastEvaluatedKey as typeof startKey;
    } while (startKey);
    expect(ledgerCount).toBe(sent.length + poison.length);

    // Each poison event was set aside once, with its reason, and nothing else was.
    expect([...quarantineWrites.keys()].sort()).toEqual(poison.map((e) => e.id).sort());
    expect([...quarantineWrites.values()].every((writes) => writes === 1)).toBe(true);
    const ledger = new DynamoLedgerReader(documentClient(stack.dynamo), stack.env.EVENTS_TABLE!);
    for (const e of poison) {
      expect(await ledger.get('acme', e.id)).toMatchObject({ status: 'quarantined', quarantineReason: expect.stringMatching(/refused/) });
    }

    // Nothing in the DLQ but the message nobody can read.
    const dlq = await stack.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: stack.queues.usageDlqUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
    );
    expect(dlq.Attributes!.ApproximateNumberOfMessages).toBe('1');
    const dead = await stack.sqs.send(new ReceiveMessageCommand({ QueueUrl: stack.queues.usageDlqUrl, MaxNumberOfMessages: 10 }));
    expect(dead.Messages?.map((m) => m.Body)).toEqual(['{"not":"usage"}']);
    // Redeliveries wait out the visibility timeout: the queue may take minutes to drain on a loaded machine.
  }, 600_000);
});
