import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
  NumberValue,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { chunk, mapLimit } from '../../kernel/batching.js';
import type { Granularity } from '../../kernel/periods.js';
import { backoffDelay, sleep } from '../../kernel/retry.js';
import { cancellationReasons, isRetryableError, isRetryableReason } from '../../platform/dynamo/errors.js';
import { queryAll } from '../../platform/dynamo/query.js';
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
} from '../aggregation.js';
import type { UsageEvent } from '../events.js';
import type { CommitOutcome, CounterRow, UsageStore } from '../ports.js';

export interface UsageStoreOptions {
  eventsTable: string;
  countersTable: string;
  /** How long the ledger keeps an event, and so how long a re-sent id is recognised. */
  ledgerRetentionDays: number;
  maxAttempts?: number;
  /** Tenant × meter partitions committed in parallel; plans within one partition go one at a time. */
  concurrency?: number;
}

type Item = { kind: 'event'; event: UsageEvent } | { kind: 'marker'; marker: MarkerRef } | { kind: 'counter'; delta: CounterDelta };

/**
 * Writes usage into DynamoDB exactly once. Each fold plan is one TransactWriteItems: the ledger entry
 * of every event (conditional on the id being new) together with the counter updates those events
 * make. A crash before the commit leaves nothing; after it, a redelivered event meets its own ledger
 * entry and is recognised as a duplicate.
 */
export class DynamoUsageStore implements UsageStore {
  private readonly maxAttempts: number;
  private readonly concurrency: number;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly options: UsageStoreOptions,
  ) {
    this.maxAttempts = options.maxAttempts ?? 6;
    this.concurrency = options.concurrency ?? 8;
  }

  async commit(events: readonly UsageEvent[]): Promise<CommitOutcome> {
    const outcome: CommitOutcome = { counted: [], duplicates: [], failed: [], writeUnits: 0 };
    const facts = emptyFacts();
    const seen = new Set<string>();
    const partitions = new Map<string, UsageEvent[]>();
    for (const e of events) {
      const key = eventKey(e);
      if (seen.has(key)) {
        outcome.duplicates.push(e);
        continue;
      }
      seen.add(key);
      const p = counterPartition(e);
      partitions.set(p, [...(partitions.get(p) ?? []), e]);
    }
    await mapLimit([...partitions.values()], this.concurrency, async (group) => {
      for (const plan of planFolds(group, facts)) await this.apply(plan, facts, outcome);
    });
    return outcome;
  }

  private async apply(plan: FoldPlan, facts: Facts, outcome: CommitOutcome): Promise<void> {
    const pending = [plan];
    let attempt = 0;
    while (pending.length > 0) {
      const current = pending.shift()!;
      if (current.events.length === 0) continue;
      const items = itemsOf(current);
      try {
        const result = await this.db.send(
          new TransactWriteCommand({ TransactItems: items.map((i) => toWrite(i, this.options)), ReturnConsumedCapacity: 'TOTAL' }),
        );
        outcome.writeUnits += (result.ConsumedCapacity ?? []).reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
        outcome.counted.push(...current.events);
      } catch (error) {
        const reasons = cancellationReasons(error);
        if (reasons?.some((r) => r.Code === 'ConditionalCheckFailed')) {
          reasons.forEach((r, i) => {
            if (r.Code === 'ConditionalCheckFailed') learn(items[i]!, facts, outcome);
          });
          pending.unshift(...planFolds(current.events, facts));
          continue;
        }
        const retryable = reasons ? reasons.some((r) => isRetryableReason(r.Code)) : isRetryableError(error);
        if (retryable && ++attempt < this.maxAttempts) {
          await sleep(backoffDelay(attempt, 25, 1_000));
          pending.unshift(current);
          continue;
        }
        outcome.failed.push(...current.events, ...pending.flatMap((p) => p.events));
        return;
      }
    }
  }

  async existing(tenantId: string, ids: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    await mapLimit(chunk([...new Set(ids)], 100), 4, async (batch) => {
      let keys: Record<string, unknown>[] | undefined = batch.map((id) => ({ pk: eventKey({ tenantId, id }) }));
      for (let attempt = 0; keys && keys.length > 0 && attempt < 3; attempt++) {
        if (attempt > 0) await sleep(backoffDelay(attempt, 25, 200));
        const result: BatchGetCommandOutput = await this.db.send(
          new BatchGetCommand({ RequestItems: { [this.options.eventsTable]: { Keys: keys, ProjectionExpression: 'id' } } }),
        );
        for (const item of result.Responses?.[this.options.eventsTable] ?? []) found.add(String(item.id));
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
export function planWrites(plan: FoldPlan, options: UsageStoreOptions): TransactWrite[] {
  return itemsOf(plan).map((item) => toWrite(item, options));
}

/** The TransactWriteItems entry for one item of a plan. */
function toWrite(item: Item, options: UsageStoreOptions): TransactWrite {
  const { eventsTable, countersTable, ledgerRetentionDays } = options;
  switch (item.kind) {
    case 'event': {
      const e = item.event;
      const expiresAt = Math.floor(Math.max(Date.parse(e.timestamp), Date.parse(e.receivedAt)) / 1000) + ledgerRetentionDays * 86_400;
      return {
        Put: {
          TableName: eventsTable,
          Item: { pk: eventKey(e), ...e, value: e.value, expiresAt },
          ConditionExpression: 'attribute_not_exists(pk)',
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

function itemsOf(plan: FoldPlan): Item[] {
  return [
    ...plan.events.map((event): Item => ({ kind: 'event', event })),
    ...plan.markers.map((marker): Item => ({ kind: 'marker', marker })),
    ...plan.counters.map((delta): Item => ({ kind: 'counter', delta })),
  ];
}

function learn(item: Item, facts: Facts, outcome: CommitOutcome): void {
  switch (item.kind) {
    case 'event':
      facts.duplicates.add(eventKey(item.event));
      outcome.duplicates.push(item.event);
      break;
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
