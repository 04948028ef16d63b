import type { BatchGetCommandOutput, ScanCommandOutput, TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { NumberValueImpl as NumberValue } from '@aws-sdk/util-dynamodb';
import { chunk } from '../../kernel/batching.js';
import { Dec } from '../../kernel/decimal.js';
import { type Granularity, keyLength } from '../../kernel/periods.js';
import type { Documents } from '../../platform/dynamo/documents.js';
import { errorName } from '../../platform/dynamo/errors.js';
import { queryAll } from '../../platform/dynamo/query.js';
import {
  type CounterRef,
  counterKey,
  counterPartition,
  counterSort,
  markerSort,
  type ReadingRef,
  readingItem,
  readingSort,
} from '../aggregation.js';
import type { UsageEvent } from '../events.js';
import type { LedgerEntry, LedgerPage, LedgerScan, RecomputeStore } from '../ports.js';
import {
  type CounterState,
  type Drift,
  inScope,
  type LiveCounter,
  parseReadingMarker,
  type RecomputeScope,
  type Repair,
  readingCounter,
  readingMarker,
} from '../recompute.js';
import { counterUpdate, REPLAYED, receiptKey } from './table-items.js';

/** Marker writes per transaction, leaving room for the counter's own update (DynamoDB allows 100 items). */
const MARKERS_PER_WRITE = 99;
const MAX_REPAIR_ATTEMPTS = 10;

/**
 * Recompute's reads and repairs on DynamoDB. The ledger has no per-tenant index (an index would add a write to every
 * event), so it is read with a parallel, strongly consistent Scan filtered to the tenant: a recompute reads (and pays
 * for) the whole ledger, 0.5 read units per 4 KB. Counters are read per meter partition, strongly.
 */
export class DynamoRecomputeStore implements RecomputeStore {
  constructor(
    private readonly db: Documents,
    private readonly tables: { eventsTable: string; countersTable: string },
    private readonly segments = 4,
  ) {}

  async counters(scope: RecomputeScope, meters: readonly string[]): Promise<Map<string, LiveCounter>> {
    const out = new Map<string, LiveCounter>();
    for (const meter of meters) {
      // Counter items sort before markers and readings ("day#", "hour#", "month#" < "reading#" < "unique#"), so a
      // counter is always read before its markers: a fold landing between the two changes the counter's second
      // reading and the counter is left out.
      const items = await queryAll(this.db, {
        TableName: this.tables.countersTable,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': counterPartition({ tenantId: scope.tenantId, meter }) },
        ConsistentRead: true,
      });
      for (const item of items) {
        const sk = String(item.sk);
        if (sk.startsWith('reading#')) {
          const reading = {
            tenantId: scope.tenantId,
            meter,
            groupKey: String(item.groupKey),
            at: String(item.at),
            id: String(item.id),
            value: String(item.value),
          };
          const ref = readingCounter(reading);
          if (!inScope(scope, ref)) continue;
          const key = counterKey(ref);
          const counter = out.get(key) ?? { ref, events: 0 };
          counter.markers ??= [];
          counter.markers.push(readingMarker(reading));
          out.set(key, counter);
          continue;
        }
        if (sk.startsWith('unique#')) {
          const marker = parseMarker(scope.tenantId, meter, sk);
          if (!marker || !inScope(scope, marker.ref)) continue;
          const key = counterKey(marker.ref);
          const counter = out.get(key) ?? { ref: marker.ref, events: 0 };
          counter.markers ??= [];
          counter.markers.push(marker.value);
          out.set(key, counter);
          continue;
        }
        const ref: CounterRef = {
          tenantId: scope.tenantId,
          meter,
          granularity: item.granularity as Granularity,
          period: String(item.period),
          groupKey: String(item.groupKey ?? ''),
        };
        if (!inScope(scope, ref)) continue;
        out.set(counterKey(ref), { ref, ...stateOfItem(item) });
      }
    }
    for (const c of out.values()) c.markers?.sort();
    return out;
  }

  async scanLedger(q: LedgerScan, onPage: (page: LedgerPage) => Promise<void> | void): Promise<void> {
    const names: Record<string, string> = { '#ts': 'timestamp', '#value': 'value', '#status': 'status' };
    const values: Record<string, unknown> = {
      ':t': q.tenantId,
      ':p': `${q.tenantId}#`,
      ':from': q.from,
      ':to': q.to,
      ':cp': `correction#${q.tenantId}#`,
      ':since': q.correctionsSince,
    };
    if (q.meter) values[':m'] = q.meter;
    const entry = `begins_with(pk, :p) AND tenantId = :t AND #ts >= :from AND #ts < :to${q.meter ? ' AND meter = :m' : ''}`;
    const correction = 'begins_with(pk, :cp) AND correctedAt >= :since AND attribute_exists(#before)';
    names['#before'] = 'before';
    names['#after'] = 'after';
    await Promise.all(
      Array.from({ length: this.segments }, async (_, segment) => {
        let startKey: Record<string, unknown> | undefined;
        do {
          const page: ScanCommandOutput = await this.db.scan({
            TableName: this.tables.eventsTable,
            Segment: segment,
            TotalSegments: this.segments,
            ConsistentRead: true,
            FilterExpression: `(${entry}) OR (${correction})`,
            ProjectionExpression:
              'pk, tenantId, id, meter, aggregation, #ts, #value, groupKey, #status, voidedAt, correctedAt, receivedAt, payloadHash, claimedBy, #before, #after',
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
            ExclusiveStartKey: startKey,
          });
          const result: LedgerPage = { scanned: page.ScannedCount ?? 0, entries: [], corrections: [], unfolded: [] };
          const claimed = new Map<string, LedgerEntry[]>();
          for (const item of page.Items ?? []) {
            if (String(item.pk).startsWith('correction#') && item.before) {
              result.corrections.push({ before: item.before as UsageEvent, ...(item.after ? { after: item.after as UsageEvent } : {}) });
            } else {
              const { pk: _pk, claimedBy, ...rest } = item;
              const entry = { status: 'counted', ...rest, value: String(rest.value) } as LedgerEntry;
              result.entries.push(entry);
              if (entry.status === 'counted' && typeof claimedBy === 'string' && claimedBy !== REPLAYED) {
                claimed.set(claimedBy, [...(claimed.get(claimedBy) ?? []), entry]);
              }
            }
          }
          for (const receipt of await this.unfoldedReceipts([...claimed.keys()])) result.unfolded.push(...claimed.get(receipt)!);
          await onPage(result);
          startKey = page.LastEvaluatedKey;
        } while (startKey);
      }),
    );
  }

  /**
   * The fold units among `receipts` not folded yet: no receipt, or one split in halves (which half holds an
   * event is not worth finding out: its counters are simply not compared).
   */
  private async unfoldedReceipts(receipts: string[]): Promise<string[]> {
    const folded = new Set<string>();
    for (const batch of chunk(receipts, 100)) {
      let keys: Record<string, unknown>[] | undefined = batch.map((r) => ({ pk: receiptKey(r) }));
      while (keys && keys.length > 0) {
        const result: BatchGetCommandOutput = await this.db.batchGet({
          RequestItems: {
            [this.tables.eventsTable]: {
              Keys: keys,
              ConsistentRead: true,
              ProjectionExpression: 'pk, #split',
              ExpressionAttributeNames: { '#split': 'split' },
            },
          },
        });
        for (const item of result.Responses?.[this.tables.eventsTable] ?? []) if (!item.split) folded.add(String(item.pk));
        keys = result.UnprocessedKeys?.[this.tables.eventsTable]?.Keys;
      }
    }
    return receipts.filter((r) => !folded.has(receiptKey(r)));
  }

  async repair(drift: Drift, repair: Repair): Promise<'repaired' | 'conflict'> {
    let have = drift.actual;
    for (let attempt = 1; attempt <= MAX_REPAIR_ATTEMPTS; attempt++) {
      try {
        await this.write(drift, repair, have);
        return 'repaired';
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        // A fold landed since the comparison. It added to the counter what it added to the ledger, so an additive
        // difference still holds against the new state; anything else is left for the next run.
        const retryable = repair.kind === 'add' && repair.putMarkers.length === 0 && repair.removeMarkers.length === 0;
        if (!retryable) return 'conflict';
        have = await this.read(drift.ref);
      }
    }
    return 'conflict';
  }

  private async read(ref: CounterRef): Promise<CounterState> {
    const r = await this.db.get({
      TableName: this.tables.countersTable,
      Key: { pk: counterPartition(ref), sk: counterSort(ref) },
      ConsistentRead: true,
    });
    return r.Item ? stateOfItem(r.Item) : { events: 0 };
  }

  private async write(drift: Drift, repair: Repair, have: CounterState): Promise<void> {
    const { ref } = drift;
    const key = { pk: counterPartition(ref), sk: counterSort(ref) };
    const g = guard(have);
    switch (repair.kind) {
      case 'remove':
        await this.db.delete({
          TableName: this.tables.countersTable,
          Key: key,
          ConditionExpression: g.condition,
          ...(Object.keys(g.names).length ? { ExpressionAttributeNames: g.names } : {}),
          ...(Object.keys(g.values).length ? { ExpressionAttributeValues: g.values } : {}),
        });
        return;
      case 'set': {
        const set = ['tenantId = :tenantId', 'meter = :meter', 'granularity = :granularity', '#period = :period', 'groupKey = :groupKey'];
        set.push('#value = :v');
        const values: Record<string, unknown> = {
          ...g.values,
          ':tenantId': ref.tenantId,
          ':meter': ref.meter,
          ':granularity': ref.granularity,
          ':period': ref.period,
          ':groupKey': ref.groupKey,
          ':v': NumberValue.from(repair.value),
          ':n': repair.events,
        };
        if (repair.latestAt !== undefined) {
          set.push('latestAt = :at', 'latestId = :id');
          values[':at'] = repair.latestAt;
          values[':id'] = repair.latestId;
        }
        await this.db.update({
          TableName: this.tables.countersTable,
          Key: key,
          UpdateExpression: `SET ${set.join(', ')} ADD #events :n`,
          ConditionExpression: g.condition,
          ExpressionAttributeNames: { ...g.names, '#value': 'value', '#events': 'events', '#period': 'period' },
          ExpressionAttributeValues: values,
        });
        return;
      }
      case 'add': {
        const readings = drift.aggregation === 'TIME_WEIGHTED';
        const asReading = (marker: string): ReadingRef => parseReadingMarker(ref, marker);
        const replaced = new Set(repair.putMarkers.map((m) => readingSort(asReading(m))));
        const markerWrites: NonNullable<TransactWriteCommandInput['TransactItems']> = readings
          ? [
              // A reading whose value changed is one item: the put replaces it.
              ...repair.putMarkers.map((m) => ({ Put: { TableName: this.tables.countersTable, Item: readingItem(asReading(m)) } })),
              ...repair.removeMarkers
                .filter((m) => !replaced.has(readingSort(asReading(m))))
                .map((m) => ({
                  Delete: {
                    TableName: this.tables.countersTable,
                    Key: { pk: key.pk, sk: readingSort(asReading(m)) },
                    ConditionExpression: 'attribute_exists(pk)',
                  },
                })),
            ]
          : [
              ...repair.putMarkers.map((value) => ({
                Put: {
                  TableName: this.tables.countersTable,
                  Item: { pk: key.pk, sk: markerSort({ ...ref, value }) },
                  ConditionExpression: 'attribute_not_exists(pk)',
                },
              })),
              ...repair.removeMarkers.map((value) => ({
                Delete: {
                  TableName: this.tables.countersTable,
                  Key: { pk: key.pk, sk: markerSort({ ...ref, value }) },
                  ConditionExpression: 'attribute_exists(pk)',
                },
              })),
            ];
        // The difference goes with the first marker writes; later slices only check the counter is as left.
        let state = have;
        const slices = markerWrites.length === 0 ? [[]] : chunk(markerWrites, MARKERS_PER_WRITE);
        for (const [i, slice] of slices.entries()) {
          const delta = i === 0 ? { value: repair.value, events: repair.events } : { value: '0', events: 0 };
          const sg = guard(state);
          const u = counterUpdate({ ...ref, aggregation: drift.aggregation, events: delta.events, add: delta.value });
          const update = {
            TableName: this.tables.countersTable,
            ...u,
            ConditionExpression: sg.condition,
            ExpressionAttributeNames: { ...u.ExpressionAttributeNames, ...sg.names },
            ExpressionAttributeValues: { ...u.ExpressionAttributeValues, ...sg.values },
          };
          if (slice.length === 0) await this.db.update(update);
          else await this.db.transactWrite({ TransactItems: [{ Update: update }, ...slice] });
          state = { ...state, value: addDecimal(state.value, delta.value), events: state.events + delta.events };
        }
        return;
      }
    }
  }
}

/** The condition that the counter still holds `have`: absent, or these value, event count and latest reading. */
function guard(have: CounterState): { condition: string; names: Record<string, string>; values: Record<string, unknown> } {
  if (have.value === undefined && have.events === 0) return { condition: 'attribute_not_exists(pk)', names: {}, values: {} };
  const names: Record<string, string> = { '#value': 'value', '#events': 'events' };
  const values: Record<string, unknown> = { ':gevents': have.events };
  const parts = ['#events = :gevents'];
  if (have.value === undefined) parts.push('attribute_not_exists(#value)');
  else {
    parts.push('#value = :gvalue');
    values[':gvalue'] = NumberValue.from(have.value);
  }
  if (have.latestAt !== undefined) {
    parts.push('latestAt = :gat', 'latestId = :gid');
    values[':gat'] = have.latestAt;
    values[':gid'] = have.latestId;
  }
  return { condition: parts.join(' AND '), names, values };
}

function stateOfItem(item: Record<string, unknown>): CounterState {
  return {
    ...(item.value !== undefined ? { value: String(item.value) } : {}),
    events: Number(item.events ?? 0),
    ...(item.latestAt !== undefined ? { latestAt: String(item.latestAt), latestId: String(item.latestId) } : {}),
  };
}

/** A marker's sort key: `unique#<granularity>#<group>#<period>#<value>`; group keys are percent-encoded, so hold no '#'. */
function parseMarker(tenantId: string, meter: string, sk: string): { ref: CounterRef; value: string } | undefined {
  const rest = sk.slice('unique#'.length);
  const g = rest.indexOf('#');
  const granularity = rest.slice(0, g) as Granularity;
  const length = keyLength[granularity];
  if (length === undefined) return undefined;
  const afterGranularity = rest.slice(g + 1);
  const groupEnd = afterGranularity.indexOf('#');
  const groupKey = afterGranularity.slice(0, groupEnd);
  const period = afterGranularity.slice(groupEnd + 1, groupEnd + 1 + length);
  const value = afterGranularity.slice(groupEnd + 2 + length);
  return { ref: { tenantId, meter, granularity, period, groupKey }, value };
}

function addDecimal(a: string | undefined, b: string): string {
  return new Dec(a ?? '0').plus(b).toFixed();
}

const isConditionFailure = (error: unknown) =>
  errorName(error) === 'ConditionalCheckFailedException' ||
  (errorName(error) === 'TransactionCanceledException' &&
    ((error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? []).some((r) => r.Code === 'ConditionalCheckFailed'));
