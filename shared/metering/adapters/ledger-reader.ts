import type { BatchGetCommandOutput } from '@aws-sdk/lib-dynamodb';
import { chunk, mapLimit } from '../../kernel/batching.js';
import { backoffDelay, sleep } from '../../kernel/retry.js';
import * as z from '../../kernel/zod-mini.js';
import { cursorCodec, keyString } from '../../platform/dynamo/cursor.js';
import type { Documents } from '../../platform/dynamo/documents.js';
import { eventKey } from '../events.js';
import type { LedgerEntry, LedgerReads, Page, QuarantineQuery } from '../ports.js';
import { QUARANTINED, toEntry } from './table-items.js';

/**
 * A page position of the quarantine index (gsi1): its start key, bound to the query's tenant (or every tenant) and
 * range, as a start key outside the query's key condition is one DynamoDB refuses.
 */
const quarantineKey = z.strictObject({ pk: keyString, gsi1pk: z.literal(QUARANTINED), gsi1sk: keyString });
type QuarantineKey = z.infer<typeof quarantineKey>;
const quarantineCursors = (q: QuarantineQuery) => cursorCodec(`quarantine#${q.tenantId ?? ''}#${q.from}#${q.to}`, quarantineKey);

/** Reads the ledger the writer (./usage-writer.ts) keeps in the events table. */
export class DynamoLedgerReader implements LedgerReads {
  constructor(
    private readonly db: Documents,
    private readonly eventsTable: string,
  ) {}

  async get(tenantId: string, id: string): Promise<LedgerEntry | undefined> {
    const r = await this.db.get({ TableName: this.eventsTable, Key: { pk: eventKey({ tenantId, id }) }, ConsistentRead: true });
    return r.Item ? toEntry(r.Item) : undefined;
  }

  async quarantined(q: QuarantineQuery): Promise<Page<LedgerEntry>> {
    const cursors = quarantineCursors(q);
    const prefix = q.tenantId === undefined ? '' : `${q.tenantId}#`;
    const r = await this.db.query({
      TableName: this.eventsTable,
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

  async existing(tenantId: string, ids: readonly string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    await mapLimit(chunk([...new Set(ids)], 100), 4, async (batch) => {
      let keys: Record<string, unknown>[] | undefined = batch.map((id) => ({ pk: eventKey({ tenantId, id }) }));
      for (let attempt = 0; keys && keys.length > 0 && attempt < 3; attempt++) {
        if (attempt > 0) await sleep(backoffDelay(attempt, 25, 200));
        const result: BatchGetCommandOutput = await this.db.batchGet({
          RequestItems: { [this.eventsTable]: { Keys: keys, ProjectionExpression: 'id, payloadHash' } },
        });
        for (const item of result.Responses?.[this.eventsTable] ?? []) found.set(String(item.id), String(item.payloadHash ?? ''));
        keys = result.UnprocessedKeys?.[this.eventsTable]?.Keys;
      }
    });
    return found;
  }
}
