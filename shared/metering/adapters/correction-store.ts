import { ClientError } from '../../kernel/errors.js';
import { backoffDelay, sleep } from '../../kernel/retry.js';
import type { Documents } from '../../platform/dynamo/documents.js';
import { cancellationReasons, isRetryableError, isRetryableReason } from '../../platform/dynamo/errors.js';
import { counterPartition, readingItem, readingSort } from '../aggregation.js';
import { type Correction, correctionDeltas, correctionReadings } from '../corrections.js';
import type { UsageEvent } from '../events.js';
import { eventKey } from '../events.js';
import { counterUpdate } from './table-items.js';

/** A correction's record in the ledger table: its id taken is what makes a retried correction a duplicate. */
const correctionKey = (tenantId: string, correctionId: string) => ({ pk: `correction#${tenantId}#${correctionId}` });

export interface Ledgered extends UsageEvent {
  /** Corrections applied so far; each one is conditional on the one before, so two never interleave. */
  revision?: number;
  voidedAt?: string;
  /** A quarantined entry was never counted: nothing to correct until it is replayed. */
  status?: 'counted' | 'quarantined';
  expiresAt: number;
}

export type CorrectionOutcome = { correction: Correction; duplicate: boolean };

/**
 * Applies corrections to the ledger and the counters. One TransactWriteItems holds all of a correction's writes:
 * the correction record (conditional on its id being new), the ledger entry's new version (conditional on the
 * revision read), and every counter's difference. A crash before it leaves nothing; a crash after it (the answer
 * lost) makes the retry meet its own correction record: a duplicate, the counters moved once.
 */
export class DynamoCorrectionStore {
  constructor(
    private readonly db: Documents,
    private readonly tables: { eventsTable: string; countersTable: string },
    private readonly maxAttempts = 8,
  ) {}

  async correction(tenantId: string, correctionId: string): Promise<Correction | undefined> {
    const r = await this.db.get({ TableName: this.tables.eventsTable, Key: correctionKey(tenantId, correctionId), ConsistentRead: true });
    return r.Item ? (stripCorrection(r.Item) as unknown as Correction) : undefined;
  }

  async entry(tenantId: string, id: string): Promise<Ledgered | undefined> {
    const r = await this.db.get({ TableName: this.tables.eventsTable, Key: { pk: eventKey({ tenantId, id }) }, ConsistentRead: true });
    return r.Item as Ledgered | undefined;
  }

  /** `decide` turns the current ledger entry into the correction (it may throw a ClientError); it runs again if the entry moved. */
  async apply(
    tenantId: string,
    correctionId: string,
    eventId: string,
    decide: (entry: Ledgered) => Correction,
  ): Promise<CorrectionOutcome> {
    for (let attempt = 1; ; attempt++) {
      const done = await this.correction(tenantId, correctionId);
      if (done) return this.duplicate(done, eventId);
      const entry = await this.entry(tenantId, eventId);
      if (!entry)
        throw new ClientError('NOT_FOUND', `event ${eventId} is not in the ledger (never counted, or older than its retention)`, 'id');
      if (entry.voidedAt) throw new ClientError('CONFLICT', `event ${eventId} was voided at ${entry.voidedAt}`, 'id');
      if (entry.status === 'quarantined')
        throw new ClientError('CONFLICT', `event ${eventId} is quarantined, not counted: it is replayed, not corrected`, 'id');
      const correction = decide(entry);
      const revision = entry.revision ?? 0;
      const { after } = correction;
      const readings = correctionReadings(correction.before, after);
      try {
        await this.db.transactWrite({
          TransactItems: [
            {
              Put: {
                TableName: this.tables.eventsTable,
                Item: { ...correctionKey(tenantId, correctionId), ...correction, expiresAt: entry.expiresAt },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Update: {
                TableName: this.tables.eventsTable,
                Key: { pk: eventKey(entry) },
                UpdateExpression: after
                  ? `SET revision = :next, correctedAt = :at, #value = :value, groupKey = :group${after.properties === undefined ? '' : ', properties = :properties'}`
                  : 'SET revision = :next, correctedAt = :at, voidedAt = :at',
                ConditionExpression: revision === 0 ? 'attribute_exists(pk) AND attribute_not_exists(revision)' : 'revision = :revision',
                ...(after ? { ExpressionAttributeNames: { '#value': 'value' } } : {}),
                ExpressionAttributeValues: {
                  ':next': revision + 1,
                  ':at': correction.correctedAt,
                  ...(revision === 0 ? {} : { ':revision': revision }),
                  ...(after
                    ? {
                        ':value': after.value,
                        ':group': after.groupKey,
                        ...(after.properties === undefined ? {} : { ':properties': after.properties }),
                      }
                    : {}),
                },
              },
            },
            ...correctionDeltas(correction.before, after).map((delta) => ({
              Update: { TableName: this.tables.countersTable, ...counterUpdate(delta) },
            })),
            ...(readings.put ? [{ Put: { TableName: this.tables.countersTable, Item: readingItem(readings.put) } }] : []),
            ...(readings.remove
              ? [
                  {
                    Delete: {
                      TableName: this.tables.countersTable,
                      Key: { pk: counterPartition(readings.remove), sk: readingSort(readings.remove) },
                    },
                  },
                ]
              : []),
          ],
        });
        return { correction, duplicate: false };
      } catch (error) {
        const reasons = cancellationReasons(error);
        // The record taken: the same correction committed meanwhile. The entry moved: read it again and decide again.
        const retryable = reasons
          ? reasons.some((r) => r.Code === 'ConditionalCheckFailed' || isRetryableReason(r.Code))
          : isRetryableError(error);
        if (!retryable || attempt >= this.maxAttempts) throw error;
        if (reasons?.[0]?.Code !== 'ConditionalCheckFailed') await sleep(backoffDelay(attempt, 25, 1_000));
      }
    }
  }

  private duplicate(done: Correction, eventId: string): CorrectionOutcome {
    if (done.eventId !== eventId)
      throw new ClientError('CONFLICT', `correction ${done.correctionId} was used for event ${done.eventId}`, 'correctionId');
    return { correction: done, duplicate: true };
  }
}

function stripCorrection(item: Record<string, unknown>): Record<string, unknown> {
  const { pk: _pk, expiresAt: _expires, ...rest } = item;
  return rest;
}
