import { NumberValueImpl as NumberValue } from '@aws-sdk/util-dynamodb';
import { type CounterDelta, counterPartition, counterSort } from '../aggregation.js';
import { eventKey, type UsageEvent } from '../events.js';
import type { LedgerEntry } from '../ports.js';

/**
 * How metering's items sit in its two tables, for every adapter that writes or reads them: ledger entries and
 * fold receipts in the events table, counter updates in the counters table.
 */

/** Quarantined events carry the sparse index key: operators list them across tenants, tenants their own. */
export const QUARANTINED = 'quarantined';

/** The claim of a ledger entry a replay counted: no queue message folds it again. */
export const REPLAYED = 'replay';

/** A fold unit's receipt in the events table: no tenant id starts with '#', so it meets no ledger entry. */
export const receiptKey = (receipt: string) => `#fold#${receipt}`;

/** An event's fields as the ledger keeps them. */
export function ledgerItem(e: UsageEvent): Record<string, unknown> {
  return { pk: eventKey(e), ...e };
}

/** Ledger entries and receipts live as long as a re-sent id or a redelivered message must be recognised. */
export function expiresAt(e: UsageEvent | undefined, now: number, retentionDays: number): number {
  return Math.floor(Math.max(e ? Date.parse(e.timestamp) : now, now) / 1000) + retentionDays * 86_400;
}

/** The ledger entry of an event set aside with its reason, listed by the quarantine index (gsi1). */
export function quarantinedItem(e: UsageEvent, reason: string, now: number, retentionDays: number) {
  return {
    ...ledgerItem(e),
    status: QUARANTINED,
    quarantinedAt: new Date(now).toISOString(),
    quarantineReason: reason.slice(0, 1024),
    gsi1pk: QUARANTINED,
    gsi1sk: `${e.tenantId}#${e.receivedAt}#${e.id}`,
    expiresAt: expiresAt(e, now, retentionDays),
  };
}

/** A ledger item as readers see it: the event and its status, without keys and bookkeeping. */
export function toEntry(item: Record<string, unknown>): LedgerEntry {
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

/** The update that folds one counter delta (the writer's folds, corrections and recompute repairs alike). */
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
