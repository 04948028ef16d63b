import type { TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { mapLimit } from '../../kernel/batching.js';
import { backoffDelay, sleep } from '../../kernel/retry.js';
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
import {
  beatenKey,
  type CounterDelta,
  counterPartition,
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
import type { CommitOutcome, UsageMessage, UsageWriter } from '../ports.js';
import { counterUpdate, expiresAt, ledgerItem, QUARANTINED, quarantinedItem, REPLAYED, receiptKey } from './table-items.js';

export interface UsageWriterOptions {
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
export class DynamoUsageWriter implements UsageWriter {
  private readonly maxAttempts: number;
  private readonly concurrency: number;
  private readonly claimConcurrency: number;
  private readonly now: () => number;

  constructor(
    private readonly db: Documents,
    private readonly options: UsageWriterOptions,
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
   * Counts a quarantined event once its cause is fixed: its ledger entry turns from quarantined to counted in the
   * same transaction as the counters, so a replay repeated or raced counts the event once.
   */
  async foldQuarantined(event: UsageEvent): Promise<CommitOutcome> {
    const outcome: CommitOutcome = { counted: [], duplicates: [], reused: [], quarantined: [], failed: [], writeUnits: 0 };
    const reason = unfoldableReason(event);
    if (reason) outcome.quarantined.push({ event, reason });
    else
      await this.fold(
        [{ unit: { receipt: REPLAYED, events: [event] }, mine: [event], claimant: REPLAYED, replay: true }],
        emptyFacts(),
        outcome,
      );
    return outcome;
  }

  /**
   * Claims an event's ledger entry for `claimant` (quarantined with `reason` when no write could ever take
   * it), or reads who holds it. DynamoDB refusing the entry for its data quarantines it instead.
   */
  private async claim(e: UsageEvent, claimant: string, reason: string | undefined, outcome: CommitOutcome): Promise<Claim | undefined> {
    const now = this.now();
    const item = reason
      ? quarantinedItem(e, reason, now, this.options.ledgerRetentionDays)
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
    const q = quarantinedItem(e, reason, this.now(), this.options.ledgerRetentionDays);
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

  private expiresAt(e: UsageEvent | undefined, now: number): number {
    return expiresAt(e, now, this.options.ledgerRetentionDays);
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
}

type TransactWrite = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

function halvesOf(f: Fold): Fold[] {
  return halves(f.unit).map((unit) => ({ ...f, unit, mine: f.mine.filter((e) => unit.events.includes(e)) }));
}

/** Packs one partition's folds (one at least) into transactions of at most 100 writes: a receipt per fold and the counters they share. */
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
  batches.push(batch);
  return batches;
}

/** What a failed counter or marker condition says. */
function learn(item: Item, facts: Facts): void {
  if (item.kind === 'marker') facts.seenMarkers.add(`${counterPartition(item.marker)}|${markerSort(item.marker)}`);
  else if (item.kind === 'counter' && item.delta.candidate) facts.beaten.add(beatenKey(item.delta, item.delta.candidate));
}
