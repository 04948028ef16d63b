import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
  GetCommand,
  NumberValue,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { chunk, mapLimit } from '../../kernel/batching.js';
import type { Granularity } from '../../kernel/periods.js';
import { backoffDelay, sleep } from '../../kernel/retry.js';
import {
  cancellationReasons,
  errorName,
  isPermanentError,
  isPermanentReason,
  isRetryableError,
  isRetryableReason,
  refusalReason,
} from '../../platform/dynamo/errors.js';
import { decodeCursor, encodeCursor, queryAll } from '../../platform/dynamo/query.js';
import {
  beatenKey,
  type CounterDelta,
  counterPartition,
  counterSort,
  emptyFacts,
  eventKey,
  type Facts,
  type FoldPlan,
  type MarkerRef,
  markerSort,
  planFolds,
  unfoldableReason,
} from '../aggregation.js';
import type { UsageEvent } from '../events.js';
import type { CommitOutcome, CounterRow, LedgerEntry, Page, Quarantined, QuarantineQuery, ReplayOutcome, UsageStore } from '../ports.js';

export interface UsageStoreOptions {
  eventsTable: string;
  countersTable: string;
  /** How long the ledger keeps an event, and so how long a re-sent id is recognised. */
  ledgerRetentionDays: number;
  maxAttempts?: number;
  /** Tenant × meter partitions committed in parallel; plans within one partition go one at a time. */
  concurrency?: number;
  now?: () => number;
}

/** Quarantined events carry the sparse index key: operators list them across tenants, tenants their own. */
const QUARANTINED = 'quarantined';

type Item =
  | { kind: 'event'; event: UsageEvent; replay?: boolean }
  | { kind: 'marker'; marker: MarkerRef }
  | { kind: 'counter'; delta: CounterDelta };

/**
 * Writes usage into DynamoDB exactly once. Each fold plan is one TransactWriteItems: the ledger entry
 * of every event (conditional on the id being new) together with the counter updates those events
 * make. A crash before the commit leaves nothing; after it, a redelivered event meets its own ledger
 * entry and is recognised as a duplicate.
 */
export class DynamoUsageStore implements UsageStore {
  private readonly maxAttempts: number;
  private readonly concurrency: number;
  private readonly now: () => number;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly options: UsageStoreOptions,
  ) {
    this.maxAttempts = options.maxAttempts ?? 6;
    this.concurrency = options.concurrency ?? 8;
    this.now = options.now ?? Date.now;
  }

  async commit(events: readonly UsageEvent[]): Promise<CommitOutcome> {
    const outcome: CommitOutcome = { counted: [], duplicates: [], reused: [], quarantined: [], failed: [], writeUnits: 0 };
    const facts = emptyFacts();
    const first = new Map<string, UsageEvent>();
    const partitions = new Map<string, UsageEvent[]>();
    const unfoldable: Quarantined[] = [];
    for (const e of events) {
      const key = eventKey(e);
      const earlier = first.get(key);
      if (earlier) {
        (earlier.payloadHash === e.payloadHash ? outcome.duplicates : outcome.reused).push(e);
        continue;
      }
      first.set(key, e);
      const reason = unfoldableReason(e);
      if (reason) {
        unfoldable.push({ event: e, reason });
        continue;
      }
      const p = counterPartition(e);
      partitions.set(p, [...(partitions.get(p) ?? []), e]);
    }
    await mapLimit(unfoldable, this.concurrency, (q) => this.quarantine(q, outcome));
    await mapLimit([...partitions.values()], this.concurrency, async (group) => {
      for (const plan of planFolds(group, facts)) await this.apply(plan, facts, outcome);
    });
    return outcome;
  }

  /**
   * Folds one plan. A cancelled transaction teaches which writes were already done and the plan is made
   * again without them; throttling and conflicts are retried; a plan DynamoDB refuses for its data is split
   * in halves until the event at fault stands alone, and that event alone is quarantined.
   * The retry budget is per transaction: a split or re-planned plan makes many transactions, and a budget
   * shared among them would let ordinary throttling fail a batch on every receive until it reached the DLQ.
   */
  private async apply(plan: FoldPlan, facts: Facts, outcome: CommitOutcome, replay = false): Promise<void> {
    const pending = [plan];
    let retried: FoldPlan | undefined;
    let attempt = 0;
    while (pending.length > 0) {
      const current = pending.shift()!;
      if (current.events.length === 0) continue;
      if (current !== retried) attempt = 0;
      const items = itemsOf(current, replay);
      try {
        const result = await this.db.send(
          new TransactWriteCommand({
            TransactItems: items.map((i) => toWrite(i, this.options, this.now())),
            ReturnConsumedCapacity: 'TOTAL',
          }),
        );
        outcome.writeUnits += (result.ConsumedCapacity ?? []).reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
        outcome.counted.push(...current.events);
      } catch (error) {
        const reasons = cancellationReasons(error);
        if (reasons?.some((r) => r.Code === 'ConditionalCheckFailed')) {
          reasons.forEach((r, i) => {
            if (r.Code === 'ConditionalCheckFailed') learn(items[i]!, r.Item, facts, outcome);
          });
          pending.unshift(...planFolds(current.events, facts));
          continue;
        }
        const permanent = reasons ? reasons.some((r) => isPermanentReason(r.Code)) : isPermanentError(error);
        if (permanent) {
          if (current.events.length > 1) {
            const half = Math.ceil(current.events.length / 2);
            pending.unshift(...planFolds(current.events.slice(0, half), facts), ...planFolds(current.events.slice(half), facts));
          } else if (replay) {
            outcome.quarantined.push({ event: current.events[0]!, reason: refusalReason(error, reasons) });
          } else {
            await this.quarantine({ event: current.events[0]!, reason: refusalReason(error, reasons) }, outcome);
          }
          continue;
        }
        const retryable = reasons ? reasons.some((r) => isRetryableReason(r.Code)) : isRetryableError(error);
        if (retryable && ++attempt < this.maxAttempts) {
          await sleep(backoffDelay(attempt, 25, 1_000));
          retried = current;
          pending.unshift(current);
          continue;
        }
        outcome.failed.push(...current.events, ...pending.flatMap((p) => p.events));
        return;
      }
    }
  }

  /** Sets an event aside in the ledger: its id is taken (a redelivery is a duplicate), nothing is counted. */
  private async quarantine(q: Quarantined, outcome: CommitOutcome): Promise<void> {
    const e = q.event;
    const item = {
      ...ledgerItem(e),
      status: QUARANTINED,
      quarantinedAt: new Date(this.now()).toISOString(),
      quarantineReason: q.reason.slice(0, 1024),
      gsi1pk: QUARANTINED,
      gsi1sk: `${e.tenantId}#${e.receivedAt}#${e.id}`,
    };
    for (let attempt = 1; ; attempt++) {
      try {
        await this.db.send(
          new PutCommand({ TableName: this.options.eventsTable, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }),
        );
        outcome.quarantined.push(q);
        return;
      } catch (error) {
        if (errorName(error) === 'ConditionalCheckFailedException') {
          outcome.duplicates.push(e);
          return;
        }
        if (!isRetryableError(error) || attempt >= this.maxAttempts) {
          outcome.failed.push(e);
          return;
        }
        await sleep(backoffDelay(attempt, 25, 1_000));
      }
    }
  }

  /** One event of the ledger, read strongly. */
  async get(tenantId: string, id: string): Promise<LedgerEntry | undefined> {
    const r = await this.db.send(
      new GetCommand({ TableName: this.options.eventsTable, Key: { pk: eventKey({ tenantId, id }) }, ConsistentRead: true }),
    );
    return r.Item ? toEntry(r.Item) : undefined;
  }

  /** Quarantined events by receipt time, newest first. */
  async quarantined(q: QuarantineQuery): Promise<Page<LedgerEntry>> {
    const prefix = q.tenantId === undefined ? '' : `${q.tenantId}#`;
    const r = await this.db.send(
      new QueryCommand({
        TableName: this.options.eventsTable,
        IndexName: 'gsi1',
        KeyConditionExpression: q.tenantId === undefined ? 'gsi1pk = :q' : 'gsi1pk = :q AND gsi1sk BETWEEN :from AND :to',
        ...(q.tenantId === undefined ? { FilterExpression: 'receivedAt BETWEEN :from AND :to' } : {}),
        ExpressionAttributeValues: { ':q': QUARANTINED, ':from': `${prefix}${q.from}`, ':to': `${prefix}${q.to}\uffff` },
        ScanIndexForward: false,
        Limit: q.limit,
        ...(q.cursor ? { ExclusiveStartKey: decodeCursor(q.cursor) } : {}),
      }),
    );
    return { items: (r.Items ?? []).map(toEntry), ...(r.LastEvaluatedKey ? { cursor: encodeCursor(r.LastEvaluatedKey) } : {}) };
  }

  /**
   * Folds a quarantined event once its cause is fixed: the ledger entry turns from quarantined to counted
   * in the same transaction as the counters, so a replay repeated or raced counts the event once.
   */
  async replay(tenantId: string, id: string): Promise<ReplayOutcome> {
    const entry = await this.get(tenantId, id);
    if (!entry || entry.status !== QUARANTINED) return { status: 'not-quarantined' };
    const { status: _status, countedAt: _countedAt, quarantinedAt: _at, quarantineReason: _reason, ...event } = entry;
    const outcome: CommitOutcome = { counted: [], duplicates: [], reused: [], quarantined: [], failed: [], writeUnits: 0 };
    const reason = unfoldableReason(event);
    if (reason) outcome.quarantined.push({ event, reason });
    else for (const plan of planFolds([event], emptyFacts())) await this.apply(plan, emptyFacts(), outcome, true);
    const still = outcome.quarantined[0];
    if (still) {
      await this.db.send(
        new UpdateCommand({
          TableName: this.options.eventsTable,
          Key: { pk: eventKey(event) },
          UpdateExpression: 'SET quarantineReason = :reason, replayFailedAt = :at',
          ConditionExpression: '#status = :q',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':reason': still.reason.slice(0, 1024),
            ':at': new Date(this.now()).toISOString(),
            ':q': QUARANTINED,
          },
        }),
      );
      return { status: 'quarantined', reason: still.reason };
    }
    if (outcome.counted.length > 0) return { status: 'counted' };
    if (outcome.duplicates.length > 0) return { status: 'duplicate' };
    return { status: 'failed' };
  }

  /**
   * The payload hashes of those of `ids` already in the ledger (eventually consistent: the consumer makes
   * the final call).
   */
  async existing(tenantId: string, ids: readonly string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    await mapLimit(chunk([...new Set(ids)], 100), 4, async (batch) => {
      let keys: Record<string, unknown>[] | undefined = batch.map((id) => ({ pk: eventKey({ tenantId, id }) }));
      for (let attempt = 0; keys && keys.length > 0 && attempt < 3; attempt++) {
        if (attempt > 0) await sleep(backoffDelay(attempt, 25, 200));
        const result: BatchGetCommandOutput = await this.db.send(
          new BatchGetCommand({ RequestItems: { [this.options.eventsTable]: { Keys: keys, ProjectionExpression: 'id, payloadHash' } } }),
        );
        for (const item of result.Responses?.[this.options.eventsTable] ?? []) found.set(String(item.id), String(item.payloadHash ?? ''));
        keys = result.UnprocessedKeys?.[this.options.eventsTable]?.Keys;
      }
    });
    return found;
  }

  async series(tenantId: string, meter: string, granularity: Granularity, from: string, to: string, groupKey = ''): Promise<CounterRow[]> {
    const items = await queryAll(this.db, {
      TableName: this.options.countersTable,
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: {
        ':pk': counterPartition({ tenantId, meter }),
        ':from': counterSort({ tenantId, meter, granularity, groupKey, period: from }),
        ':to': counterSort({ tenantId, meter, granularity, groupKey, period: to }),
      },
    });
    return items.map((item) => ({ period: String(item.period), value: String(item.value ?? 0), events: Number(item.events ?? 0) }));
  }

  /** The group keys (never the meter total's '') a meter has counters for in months `fromMonth`..`toMonth`. */
  async groupKeys(tenantId: string, meter: string, fromMonth: string, toMonth: string): Promise<string[]> {
    // Month counters are few (one per group and month), so filtering them by period is cheap.
    const items = await queryAll(this.db, {
      TableName: this.options.countersTable,
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      FilterExpression: '#period BETWEEN :fromMonth AND :toMonth',
      ProjectionExpression: 'groupKey',
      ExpressionAttributeNames: { '#period': 'period' },
      ExpressionAttributeValues: {
        ':pk': counterPartition({ tenantId, meter }),
        ':from': 'month##\uffff',
        ':to': 'month#\uffff',
        ':fromMonth': fromMonth,
        ':toMonth': toMonth,
      },
    });
    return [...new Set(items.map((item) => String(item.groupKey)))].filter((g) => g !== '').sort();
  }
}

type TransactWrite = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** The writes one plan commits, in order: the benchmark sizes them to count write units. */
export function planWrites(plan: FoldPlan, options: UsageStoreOptions, now = Date.now()): TransactWrite[] {
  return itemsOf(plan).map((item) => toWrite(item, options, now));
}

/** An event's fields as the ledger keeps them. */
function ledgerItem(e: UsageEvent): Record<string, unknown> {
  return { pk: eventKey(e), ...e };
}

function toEntry(item: Record<string, unknown>): LedgerEntry {
  const { pk: _pk, expiresAt: _expiresAt, gsi1pk: _gsi1pk, gsi1sk: _gsi1sk, replayFailedAt: _replayFailedAt, ...entry } = item;
  return { status: 'counted', ...entry } as LedgerEntry;
}

/** The TransactWriteItems entry for one item of a plan. */
function toWrite(item: Item, options: UsageStoreOptions, now: number): TransactWrite {
  const { eventsTable, countersTable, ledgerRetentionDays } = options;
  switch (item.kind) {
    case 'event': {
      const e = item.event;
      const expiresAt = Math.floor(Math.max(Date.parse(e.timestamp), now) / 1000) + ledgerRetentionDays * 86_400;
      const Item = { ...ledgerItem(e), status: 'counted', countedAt: new Date(now).toISOString(), expiresAt };
      // A replay turns a quarantined entry into a counted one, and only that: a second replay finds it counted.
      return item.replay
        ? {
            Put: {
              TableName: eventsTable,
              Item,
              ConditionExpression: '#status = :q',
              ExpressionAttributeNames: { '#status': 'status' },
              ExpressionAttributeValues: { ':q': QUARANTINED },
            },
          }
        : {
            Put: {
              TableName: eventsTable,
              Item,
              ConditionExpression: 'attribute_not_exists(pk)',
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            },
          };
    }
    case 'marker':
      return {
        Put: {
          TableName: countersTable,
          Item: { pk: counterPartition(item.marker), sk: markerSort(item.marker) },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      };
    case 'counter':
      return { Update: { TableName: countersTable, ...counterUpdate(item.delta) } };
  }
}

function itemsOf(plan: FoldPlan, replay = false): Item[] {
  return [
    ...plan.events.map((event): Item => ({ kind: 'event', event, replay })),
    ...plan.markers.map((marker): Item => ({ kind: 'marker', marker })),
    ...plan.counters.map((delta): Item => ({ kind: 'counter', delta })),
  ];
}

/** What a failed condition says: for a ledger entry, `stored` is the entry that was already there. */
function learn(item: Item, stored: Record<string, { S?: string }> | undefined, facts: Facts, outcome: CommitOutcome): void {
  switch (item.kind) {
    case 'event': {
      facts.duplicates.add(eventKey(item.event));
      const hash = stored?.payloadHash?.S;
      (hash !== undefined && hash !== item.event.payloadHash ? outcome.reused : outcome.duplicates).push(item.event);
      break;
    }
    case 'marker':
      facts.seenMarkers.add(`${counterPartition(item.marker)}|${markerSort(item.marker)}`);
      break;
    case 'counter':
      if (item.delta.candidate) facts.beaten.add(beatenKey(item.delta, item.delta.candidate));
      break;
  }
}

/** The update that folds one counter delta (used by corrections too). */
export function counterUpdate(d: CounterDelta) {
  const names: Record<string, string> = { '#events': 'events', '#period': 'period' };
  const values: Record<string, unknown> = {
    ':n': d.events,
    ':tenantId': d.tenantId,
    ':meter': d.meter,
    ':granularity': d.granularity,
    ':period': d.period,
    ':groupKey': d.groupKey,
  };
  const set = ['tenantId = :tenantId', 'meter = :meter', 'granularity = :granularity', '#period = :period', 'groupKey = :groupKey'];
  const add = ['#events :n'];
  let condition: string | undefined;
  if (d.add !== undefined) {
    names['#value'] = 'value';
    add.push('#value :add');
    values[':add'] = NumberValue.from(d.add);
  } else if (d.candidate) {
    names['#value'] = 'value';
    set.push('#value = :v');
    values[':v'] = NumberValue.from(d.candidate.value);
    if (d.aggregation === 'MAX') {
      condition = 'attribute_not_exists(#value) OR #value < :v';
    } else {
      set.push('latestAt = :at', 'latestId = :id');
      values[':at'] = d.candidate.at;
      values[':id'] = d.candidate.id;
      condition = 'attribute_not_exists(latestAt) OR latestAt < :at OR (latestAt = :at AND latestId < :id)';
    }
  }
  return {
    Key: { pk: counterPartition(d), sk: counterSort(d) },
    UpdateExpression: `SET ${set.join(', ')} ADD ${add.join(', ')}`,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
    ...(condition ? { ConditionExpression: condition } : {}),
  };
}
