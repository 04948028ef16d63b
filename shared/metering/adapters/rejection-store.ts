import * as z from '../../kernel/zod-mini.js';
import { cursorCodec, keyString } from '../../platform/dynamo/cursor.js';
import type { Documents } from '../../platform/dynamo/documents.js';
import { queryPages } from '../../platform/dynamo/query.js';
import type { KeptEventsQuery, Page, RejectedEvent, RejectionBatch, RejectionQuery, RejectionStore } from '../ports.js';

/** The last element is the event as sent, kept for rejections that can be replayed (UNKNOWN_METER); absent in older rows. */
type Row = [index: number, id: string | null, code: string, field: string | null, message: string, event?: string];

// zlib loads when a rejection is first written or read: ingest's cold start serves valid events without it.
const packRows = (rows: Row[]) => process.getBuiltinModule('node:zlib').gzipSync(JSON.stringify(rows));
const unpackRows = (packed: Uint8Array) => JSON.parse(process.getBuiltinModule('node:zlib').gunzipSync(packed).toString('utf8')) as Row[];

/** A page position of a tenant's rejections: the request last read, and how many of its events were returned. */
const rejectionPosition = z.strictObject({ sk: keyString, taken: z.int().check(z.minimum(0)) });
/** Bound to the query's tenant and range: a position outside the range would be outside the query's key condition. */
const rejectionCursors = (q: RejectionQuery) => cursorCodec(`rejections#${q.tenantId}#${q.from}#${q.to}`, rejectionPosition);

/**
 * Rejected events, kept as long as the ledger keeps events. Compact: one item per request, its rejections
 * gzipped together (a thousand rejections of one code compress to a few KB, so a few write units), keyed by
 * tenant and receipt time so that a tenant lists them by time.
 */
export class DynamoRejectionStore implements RejectionStore {
  constructor(
    private readonly db: Documents,
    private readonly table: string,
    private readonly retentionDays: number,
  ) {}

  async record(batch: RejectionBatch): Promise<void> {
    if (batch.rejections.length === 0) return;
    const rows = batch.rejections.map((r): Row => {
      const row: Row = [r.index, r.id ?? null, r.code, r.field ?? null, r.message];
      if (r.event !== undefined) row.push(r.event);
      return row;
    });
    await this.db.put({
      TableName: this.table,
      Item: {
        pk: batch.tenantId,
        sk: `${batch.receivedAt}#${batch.requestId}`,
        requestId: batch.requestId,
        receivedAt: batch.receivedAt,
        count: rows.length,
        rows: packRows(rows),
        expiresAt: Math.floor(Date.parse(batch.receivedAt) / 1000) + this.retentionDays * 86_400,
      },
    });
  }

  /**
   * Rejected events received in [from, to], newest request first, each request's events in order. The
   * cursor names the last request read and how many of its events were returned.
   */
  async list(q: RejectionQuery): Promise<Page<RejectedEvent>> {
    const cursors = rejectionCursors(q);
    const position = q.cursor ? await cursors.decode(q.cursor) : undefined;
    const items: RejectedEvent[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const r = await this.db.query({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':pk': q.tenantId, ':from': q.from, ':to': position?.sk ?? `${q.to}\uffff` },
        ScanIndexForward: false,
        Limit: 25,
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      });
      for (const item of r.Items ?? []) {
        const sk = String(item.sk);
        const rows = unpackRows(item.rows as Uint8Array);
        const skip = position && sk === position.sk ? position.taken : 0;
        for (let i = skip; i < rows.length; i++) {
          if (items.length === q.limit) return { items, cursor: await cursors.encode({ sk, taken: i }) };
          const [index, id, code, field, message] = rows[i]!;
          items.push({
            index,
            ...(id !== null ? { id } : {}),
            code,
            ...(field !== null ? { field } : {}),
            message,
            receivedAt: String(item.receivedAt),
            requestId: String(item.requestId),
          });
        }
      }
      startKey = r.LastEvaluatedKey;
    } while (startKey);
    return { items };
  }

  /** The events as sent of a tenant's rejections of one code received in [from, to], oldest first. */
  async keptEvents(q: KeptEventsQuery): Promise<string[]> {
    const events: string[] = [];
    for await (const page of queryPages(this.db, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: { ':pk': q.tenantId, ':from': q.from, ':to': `${q.to}\uffff` },
    })) {
      for (const item of page)
        for (const row of unpackRows(item.rows as Uint8Array)) if (row[2] === q.code && row[5] !== undefined) events.push(row[5]);
    }
    return events;
  }
}
