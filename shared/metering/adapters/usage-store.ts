import type { BatchGetCommandOutput, TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { NumberValueImpl as NumberValue } from '@aws-sdk/util-dynamodb';
import { chunk, mapLimit } from '../../kernel/batching.js';
import type { Granularity } from '../../kernel/periods.js';
import { backoffDelay, sleep } from '../../kernel/retry.js';
import * as z from '../../kernel/zod-mini.js';
import { cursorCodec, keyString } from '../../platform/dynamo/cursor.js';
import type { Documents } from '../../platform/dynamo/documents.js';
import {
  cancellationReasons,
  errorName,
  isPermanentError,
  isPermanentReason,
  isRetryableError,
  isRetryableReason,
  refusalReason,
} from '../../platform/dynamo/errors.js';
import { queryAll } from '../../platform/dynamo/query.js';
import {
  beatenKey,
  type CounterDelta,
  counterPartition,
  counterSort,
  emptyFacts,
  type Facts,
  type FoldUnit,
  foldUnits,
  halves,
  MAX_ITEMS_PER_PLAN,
  type MarkerRef,
  markerSort,
  planFold,
  type ReadingRef,
  readingItem,
  unfoldableReason,
  writesOf,
} from '../aggregation.js';
import { eventKey, type UsageEvent } from '../events.js';
import type { CommitOutcome, CounterRow, LedgerEntry, Page, QuarantineQuery, ReplayOutcome, UsageMessage, UsageStore } from '../ports.js';

export interface UsageStoreOptions {
  eventsTable: string;
  countersTable: string;
  /** How long the ledger keeps an event, and so how long a re-sent id is recognised. */
  ledgerRetentionDays: number;
  maxAttempts?: number;
  /** Tenant × meter partitions folded in parallel; transactions within one partition go one at a time. */
  concurrency?: number;
  /** Ledger entries claimed in parallel. */
  claimConcurrency?: number;
  now?: () => number;
}

/** Quarantined events carry the sparse index key: operators list them across tenants, tenants their own. */
const QUARANTINED = 'quarantined';

/**
 * A page position of the quarantine index (gsi1): its start key, bound to the query's tenant (or every tenant) and
 * range, as a start key outside the query's key condition is one DynamoDB refuses.
 */
const quarantineKey = z.strictObject({ pk: keyString, gsi1pk: z.literal(QUARANTINED), gsi1sk: keyString });
type QuarantineKey = z.infer<typeof quarantineKey>;
const quarantineCursors = (q: QuarantineQuery) => cursorCodec(`quarantine#${q.tenantId ?? ''}#${q.from}#${q.to}`, quarantineKey);
/** The claim of a ledger entry a replay counted: no queue message folds it again. */
export const REPLAYED = 'replay';

/** Who holds a ledger entry, as its claim found it; undefined when the claim could not be made. */
interface Claim {
  claimedBy: string;
  payloadHash: string;
  status: string;
  /** This claim wrote the entry. */
  written: boolean;
}

/** A fold unit with the events its message claimed (those it counts), or a replay's one event. */
interface Fold {
  unit: FoldUnit;
  mine: UsageEvent[];
  /** The `claimedBy` of its events: the receipt of the unit as the message made it (halves keep it). */
  claimant: string;
  replay?: boolean;
}

type Item =
  | { kind: 'guard'; fold: Fold }
  | { kind: 'marker'; marker: MarkerRef }
  | { kind: 'reading'; reading: ReadingRef }
  | { kind: 'counter'; delta: CounterDelta };

/**
 * Writes usage into DynamoDB exactly once, in two steps per queue message. First each event's ledger
 * entry is claimed: a plain conditional put (1 WCU) naming the message. Then the message's fold units
 * (./aggregation.ts `foldUnits`) are folded: one TransactWriteItems per few units holds each unit's
 * receipt (conditional on being new) with the counter updates of the events the message claimed. A crash
 * after a claim leaves an entry that names this message: its redelivery recognises it as its own and folds
 * it, unless the unit's receipt says it is folded already; an entry naming another message is a duplicate.
 */
export class DynamoUsageStore implements UsageStore {
  private readonly maxAttempts: number;
  private readonly concurrency: number;
  private readonly claimConcurrency: number;
  private readonly now: () => number;

  constructor(
    private readonly db: Documents,
    private readonly options: UsageStoreOptions,
  ) {
    this.maxAttempts = options.maxAttempts ?? 6;
    this.concurrency = options.concurrency ?? 8;
    this.claimConcurrency = options.claimConcurrency ?? 32;
    this.now = options.now ?? Date.now;
  }

  async commit(batch: readonly UsageMessage[]): Promise<CommitOutcome> {
    const outcome: CommitOutcome = { counted: [], duplicates: [], reused: [], quarantined: [], failed: [], writeUnits: 0 };
    // A message sent twice (a send retried after SQS took it) may come twice in one batch: its second copy is a duplicate.
    const messages = batch.filter((m, i) => {
      const first = batch.findIndex((other) => other.id === m.id) === i;
      if (!first) outcome.duplicates.push(...m.events);
      return first;
    });
    // Each id is claimed once per batch, by its first copy; every copy then reads the same answer.
    const claims = new Map<string, Promise<Claim | undefined>>();
    const claim = (e: UsageEvent, claimant: string, reason: string | undefined) => {
      const key = eventKey(e);
      let c = claims.get(key);
      if (!c) {
        c = this.claim(e, claimant, reason, outcome);
        claims.set(key, c);
      }
      return c;
    };
    // A message's units come from the message alone, so each entry is claimed in the name of its unit's receipt:
    // any delivery of the message recognises its own claims, and a reader of the ledger can tell whether the unit
    // is folded yet. An event no write can take is claimed (quarantined) in the message's name.
    const plans = messages.map((m) => {
      const firsts = new Map<string, UsageEvent>();
      for (const e of m.events) {
        const earlier = firsts.get(eventKey(e));
        if (earlier) (earlier.payloadHash === e.payloadHash ? outcome.duplicates : outcome.reused).push(e);
        else firsts.set(eventKey(e), e);
      }
      const events = [...firsts.values()].map((event) => ({ event, reason: unfoldableReason(event) }));
      const units = foldUnits(
        m.id,
        events.filter((f) => f.reason === undefined).map((f) => f.event),
      );
      const claimant = new Map<UsageEvent, string>(events.map((f) => [f.event, m.id]));
      for (const unit of units) for (const e of unit.events) claimant.set(e, unit.receipt);
      return { events, units, claimant };
    });
    const claimed = new Map<UsageEvent, Claim | undefined>();
    await mapLimit(
      plans.flatMap((p) => p.events.map((f) => ({ ...f, claimant: p.claimant.get(f.event)! }))),
      this.claimConcurrency,
      async ({ event, reason, claimant }) => {
        claimed.set(event, await claim(event, claimant, reason));
      },
    );

    const folds: Fold[] = [];
    for (const { events, units, claimant } of plans) {
      const own = (e: UsageEvent) => claimed.get(e)?.claimedBy === claimant.get(e);
      // A message folds only once every entry it could claim is settled.
      if (events.some(({ event }) => claimed.get(event) === undefined)) {
        const unsettled = (e: UsageEvent) => claimed.get(e) === undefined || (own(e) && claimed.get(e)!.status === 'counted');
        outcome.failed.push(...events.map((f) => f.event).filter(unsettled));
        continue;
      }
      const mine = new Set<UsageEvent>();
      for (const { event } of events) {
        const c = claimed.get(event)!;
        if (!own(event)) (c.payloadHash === event.payloadHash ? outcome.duplicates : outcome.reused).push(event);
        else if (c.status === 'counted') mine.add(event);
        // Quarantined by an earlier delivery of this message (this one's are reported by the claim).
        else if (!c.written) outcome.duplicates.push(event);
      }
      for (const unit of units) {
        const counted = unit.events.filter((e) => mine.has(e));
        if (counted.length > 0) folds.push({ unit, mine: counted, claimant: unit.receipt });
      }
    }

    const facts = emptyFacts();
    const partitions = new Map<string, Fold[]>();
    for (const f of folds) {
      const p = counterPartition(f.unit.events[0]!);
      partitions.set(p, [...(partitions.get(p) ?? []), f]);
    }
    await mapLimit([...partitions.values()], this.concurrency, async (group) => {
      for (const batch of packFolds(group, facts)) await this.fold(batch, facts, outcome);
    });
    return outcome;
  }

  /**
   * Claims an event's ledger entry for `claimant` (quarantined with `reason` when no write could ever take
   * it), or reads who holds it. DynamoDB refusing the entry for its data quarantines it instead.
   */
  private async claim(e: UsageEvent, claimant: string, reason: string | undefined, outcome: CommitOutcome): Promise<Claim | undefined> {
    const now = this.now();
    const item = reason
      ? this.quarantinedItem(e, reason, now)
      : { ...ledgerItem(e), status: 'counted', countedAt: new Date(now).toISOString(), expiresAt: this.expiresAt(e, now) };
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await this.db.put({
          TableName: this.options.eventsTable,
          Item: { ...item, claimedBy: claimant },
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ReturnConsumedCapacity: 'TOTAL',
        });
        outcome.writeUnits += result.ConsumedCapacity?.CapacityUnits ?? 0;
        if (reason) outcome.quarantined.push({ event: e, reason });
        return { claimedBy: claimant, payloadHash: e.payloadHash, status: String(item.status), written: true };
      } catch (error) {
        if (errorName(error) === 'ConditionalCheckFailedException') {
          const stored = (error as { Item?: Record<string, { S?: string }> }).Item ?? {};
          return {
            claimedBy: stored.claimedBy?.S ?? '',
            payloadHash: stored.payloadHash?.S ?? '',
            status: stored.status?.S ?? '',
            written: false,
          };
        }
        if (isPermanentError(error) && !reason) return this.claim(e, claimant, refusalReason(error, undefined), outcome);
        if (!isRetryableError(error) || attempt >= this.maxAttempts) return undefined;
        await sleep(backoffDelay(attempt, 25, 1_000));
      }
    }
  }

  /**
   * Folds some units in one transaction. A cancelled transaction teaches which writes were already done:
   * a receipt found means its unit is folded (its events are duplicates of that fold), and the rest is
   * planned again. Throttling and conflicts are retried; units DynamoDB refuses for their data are split in
   * halves (the unit's receipt marked split first, so it is never folded whole) until the event at fault
   * stands alone, and that event alone is quarantined.
   * The retry budget is per transaction: a split or re-planned fold makes many transactions, and a budget
   * shared among them would let ordinary throttling fail a batch on every receive until it reached the DLQ.
   */
  private async fold(batch: Fold[], facts: Facts, outcome: CommitOutcome): Promise<void> {
    const pending = [batch];
    let retried: Fold[] | undefined;
    let attempt = 0;
    while (pending.length > 0) {
      const next = pending.shift()!;
      if (next !== retried) attempt = 0;
      const current = next.filter((f) => f.mine.length > 0);
      if (current.length === 0) continue;
      const plan = planFold(
        current.flatMap((f) => f.mine),
        facts,
      );
      const items: Item[] = [
        ...current.map((fold): Item => ({ kind: 'guard', fold })),
        ...plan.markers.map((marker): Item => ({ kind: 'marker', marker })),
        ...plan.readings.map((reading): Item => ({ kind: 'reading', reading })),
        ...plan.counters.map((delta): Item => ({ kind: 'counter', delta })),
      ];
      try {
        const result = await this.db.transactWrite({
          TransactItems: items.map((i) => this.toWrite(i)),
          ReturnConsumedCapacity: 'TOTAL',
        });
        outcome.writeUnits += (result.ConsumedCapacity ?? []).reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
        outcome.counted.push(...plan.events);
      } catch (error) {
        const reasons = cancellationReasons(error);
        if (reasons?.some((r) => r.Code === 'ConditionalCheckFailed')) {
          const done = new Set<Fold>();
          const halves: Fold[][] = [];
          reasons.forEach((r, i) => {
            const item = items[i]!;
            if (r.Code !== 'ConditionalCheckFailed') return;
            if (item.kind !== 'guard') {
              learn(item, facts);
              return;
            }
            done.add(item.fold);
            // Halves go alone: with a receipt each they could overfill this transaction.
            halves.push(...this.folded(item.fold, r.Item, outcome).map((h) => [h]));
          });
          pending.unshift(
            current.filter((f) => !done.has(f)),
            ...halves,
          );
          continue;
        }
        const permanent = reasons ? reasons.some((r) => isPermanentReason(r.Code)) : isPermanentError(error);
        if (permanent) {
          if (current.length > 1) {
            const half = Math.ceil(current.length / 2);
            pending.unshift(current.slice(0, half), current.slice(half));
          } else {
            const split = await this.split(current[0]!, refusalReason(error, reasons), outcome);
            if (split) pending.unshift(...split.map((f) => [f]));
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
        outcome.failed.push(...current.flatMap((f) => f.mine), ...pending.flat().flatMap((f) => f.mine));
        return;
      }
    }
  }

  /** What a failed guard says: the unit was folded (duplicates), or was split earlier (fold its halves). */
  private folded(f: Fold, stored: Record<string, { S?: string; BOOL?: boolean }> | undefined, outcome: CommitOutcome): Fold[] {
    if (!f.replay && stored?.split?.BOOL) return halvesOf(f);
    outcome.duplicates.push(...f.mine);
    return [];
  }

  /**
   * A unit DynamoDB refused alone: its receipt is marked split before its halves are folded, so that no
   * redelivery folds it whole after a half was counted. A single event is quarantined.
   */
  private async split(f: Fold, reason: string, outcome: CommitOutcome): Promise<Fold[] | undefined> {
    if (f.replay) {
      outcome.quarantined.push({ event: f.mine[0]!, reason });
      return undefined;
    }
    if (f.unit.events.length === 1) {
      await this.quarantineClaimed(f, reason, outcome);
      return undefined;
    }
    for (let attempt = 1; ; attempt++) {
      try {
        await this.db.put({
          TableName: this.options.eventsTable,
          Item: { pk: receiptKey(f.unit.receipt), split: true, expiresAt: this.expiresAt(undefined, this.now()) },
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        });
        return halvesOf(f);
      } catch (error) {
        if (errorName(error) === 'ConditionalCheckFailedException') {
          return this.folded(f, (error as { Item?: Record<string, { BOOL?: boolean }> }).Item, outcome);
        }
        if (!isRetryableError(error) || attempt >= this.maxAttempts) {
          outcome.failed.push(...f.mine);
          return undefined;
        }
        await sleep(backoffDelay(attempt, 25, 1_000));
      }
    }
  }

  /** Turns a claimed entry DynamoDB will not fold into a quarantined one: nothing is counted, the id stays taken. */
  private async quarantineClaimed(f: Fold, reason: string, outcome: CommitOutcome): Promise<void> {
    const e = f.mine[0]!;
    const q = this.quarantinedItem(e, reason, this.now());
    for (let attempt = 1; ; attempt++) {
      try {
        await this.db.update({
          TableName: this.options.eventsTable,
          Key: { pk: eventKey(e) },
          UpdateExpression: 'SET #status = :q, quarantinedAt = :at, quarantineReason = :reason, gsi1pk = :q, gsi1sk = :sk REMOVE countedAt',
          ConditionExpression: 'claimedBy = :by AND #status = :counted',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':q': QUARANTINED,
            ':at': q.quarantinedAt,
            ':reason': q.quarantineReason,
            ':sk': q.gsi1sk,
            ':by': f.claimant,
            ':counted': 'counted',
          },
        });
        outcome.quarantined.push({ event: e, reason });
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

  private quarantinedItem(e: UsageEvent, reason: string, now: number) {
    return {
      ...ledgerItem(e),
      status: QUARANTINED,
      quarantinedAt: new Date(now).toISOString(),
      quarantineReason: reason.slice(0, 1024),
      gsi1pk: QUARANTINED,
      gsi1sk: `${e.tenantId}#${e.receivedAt}#${e.id}`,
      expiresAt: this.expiresAt(e, now),
    };
  }

  /** Ledger entries and receipts live as long as a re-sent id or a redelivered message must be recognised. */
  private expiresAt(e: UsageEvent | undefined, now: number): number {
    return Math.floor(Math.max(e ? Date.parse(e.timestamp) : now, now) / 1000) + this.options.ledgerRetentionDays * 86_400;
  }

  /** The TransactWriteItems entry for one item of a fold. */
  private toWrite(item: Item): TransactWrite {
    const { eventsTable, countersTable } = this.options;
    switch (item.kind) {
      case 'guard': {
        const now = this.now();
        if (item.fold.replay) {
          // A replay turns a quarantined entry into a counted one, and only that: a second replay finds it counted.
          const e = item.fold.mine[0]!;
          return {
            Put: {
              TableName: eventsTable,
              Item: {
                ...ledgerItem(e),
                status: 'counted',
                countedAt: new Date(now).toISOString(),
                expiresAt: this.expiresAt(e, now),
                claimedBy: REPLAYED,
              },
              ConditionExpression: '#status = :q',
              ExpressionAttributeNames: { '#status': 'status' },
              ExpressionAttributeValues: { ':q': QUARANTINED },
            },
          };
        }
        return {
          Put: {
            TableName: eventsTable,
            Item: { pk: receiptKey(item.fold.unit.receipt), expiresAt: this.expiresAt(undefined, now) },
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
      case 'reading':
        // Unconditional: the same reading put twice is the same item.
        return { Put: { TableName: countersTable, Item: readingItem(item.reading) } };
      case 'counter':
        return { Update: { TableName: countersTable, ...counterUpdate(item.delta) } };
    }
  }

  /** One event of the ledger, read strongly. */
  async get(tenantId: string, id: string): Promise<LedgerEntry | undefined> {
    const r = await this.db.get({ TableName: this.options.eventsTable, Key: { pk: eventKey({ tenantId, id }) }, ConsistentRead: true });
    return r.Item ? toEntry(r.Item) : undefined;
  }

  /** Quarantined events by receipt time, newest first. */
  async quarantined(q: QuarantineQuery): Promise<Page<LedgerEntry>> {
    const cursors = quarantineCursors(q);
    const prefix = q.tenantId === undefined ? '' : `${q.tenantId}#`;
    const r = await this.db.query({
      TableName: this.options.eventsTable,
      IndexName: 'gsi1',
      KeyConditionExpression: q.tenantId === undefined ? 'gsi1pk = :q' : 'gsi1pk = :q AND gsi1sk BETWEEN :from AND :to',
      ...(q.tenantId === undefined ? { FilterExpression: 'receivedAt BETWEEN :from AND :to' } : {}),
      ExpressionAttributeValues: { ':q': QUARANTINED, ':from': `${prefix}${q.from}`, ':to': `${prefix}${q.to}\uffff` },
      ScanIndexForward: false,
      Limit: q.limit,
      ...(q.cursor ? { ExclusiveStartKey: await cursors.decode(q.cursor) } : {}),
    });
    return {
      items: (r.Items ?? []).map(toEntry),
      ...(r.LastEvaluatedKey ? { cursor: await cursors.encode(r.LastEvaluatedKey as QuarantineKey) } : {}),
    };
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
    else
      await this.fold(
        [{ unit: { receipt: REPLAYED, events: [event] }, mine: [event], claimant: REPLAYED, replay: true }],
        emptyFacts(),
        outcome,
      );
    const still = outcome.quarantined[0];
    if (still) {
      await this.db.update({
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
      });
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
        const result: BatchGetCommandOutput = await this.db.batchGet({
          RequestItems: { [this.options.eventsTable]: { Keys: keys, ProjectionExpression: 'id, payloadHash' } },
        });
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

/** A fold unit's receipt in the events table: no tenant id starts with '#', so it meets no ledger entry. */
export const receiptKey = (receipt: string) => `#fold#${receipt}`;

/** An event's fields as the ledger keeps them. */
function ledgerItem(e: UsageEvent): Record<string, unknown> {
  return { pk: eventKey(e), ...e };
}

function toEntry(item: Record<string, unknown>): LedgerEntry {
  const {
    pk: _pk,
    expiresAt: _expiresAt,
    gsi1pk: _gsi1pk,
    gsi1sk: _gsi1sk,
    replayFailedAt: _replayFailedAt,
    claimedBy: _claimedBy,
    ...entry
  } = item;
  return { status: 'counted', ...entry } as LedgerEntry;
}

function halvesOf(f: Fold): Fold[] {
  return halves(f.unit).map((unit) => ({ ...f, unit, mine: f.mine.filter((e) => unit.events.includes(e)) }));
}

/** Packs one partition's folds into transactions of at most 100 writes: a receipt per fold and the counters they share. */
function packFolds(folds: readonly Fold[], facts: Facts): Fold[][] {
  const batches: Fold[][] = [];
  let batch: Fold[] = [];
  let items = new Set<string>();
  for (const f of folds) {
    const needs = new Set(f.mine.flatMap((e) => writesOf(e, facts)));
    const added = [...needs].filter((k) => !items.has(k)).length;
    if (batch.length > 0 && batch.length + 1 + items.size + added > MAX_ITEMS_PER_PLAN) {
      batches.push(batch);
      batch = [];
      items = new Set();
    }
    batch.push(f);
    for (const k of needs) items.add(k);
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/** What a failed counter or marker condition says. */
function learn(item: Item, facts: Facts): void {
  if (item.kind === 'marker') facts.seenMarkers.add(`${counterPartition(item.marker)}|${markerSort(item.marker)}`);
  else if (item.kind === 'counter' && item.delta.candidate) facts.beaten.add(beatenKey(item.delta, item.delta.candidate));
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
    } else if (d.aggregation === 'MIN') {
      condition = 'attribute_not_exists(#value) OR #value > :v';
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
