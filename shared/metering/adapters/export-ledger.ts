import type { ScanCommandOutput } from '@aws-sdk/lib-dynamodb';
import type { Documents } from '../../platform/dynamo/documents.js';
import type { LedgerEntry } from '../ports.js';

/**
 * The export's reads of the ledger: a parallel Scan of the events table for counted entries (quarantined ones have no
 * `countedAt`; fold receipts and correction records are other items). Eventually consistent reads, half the price
 * of strong ones: the export reads only entries counted before its cut-off, minutes in the past.
 */
export class DynamoExportLedger {
  constructor(
    private readonly db: Documents,
    private readonly eventsTable: string,
    private readonly segments = 4,
  ) {}

  async scan(onPage: (entries: LedgerEntry[]) => void, changedAfter?: string): Promise<void> {
    const names: Record<string, string> = { '#ts': 'timestamp', '#value': 'value', '#status': 'status' };
    const values: Record<string, unknown> = { ':receipt': '#', ':correction': 'correction#', ':counted': 'counted' };
    let filter =
      'attribute_exists(countedAt) AND #status = :counted AND NOT begins_with(pk, :receipt) AND NOT begins_with(pk, :correction)';
    if (changedAfter !== undefined) {
      filter += ' AND (countedAt > :after OR correctedAt > :after)';
      values[':after'] = changedAfter;
    }
    await Promise.all(
      Array.from({ length: this.segments }, async (_, segment) => {
        let startKey: Record<string, unknown> | undefined;
        do {
          const page: ScanCommandOutput = await this.db.scan({
            TableName: this.eventsTable,
            Segment: segment,
            TotalSegments: this.segments,
            FilterExpression: filter,
            ProjectionExpression:
              'tenantId, id, meter, aggregation, #ts, #value, groupKey, subject, properties, receivedAt, #status, countedAt, correctedAt, voidedAt',
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
            ExclusiveStartKey: startKey,
          });
          onPage((page.Items ?? []).map((item) => ({ ...item, value: String(item.value) }) as LedgerEntry));
          startKey = page.LastEvaluatedKey;
        } while (startKey);
      }),
    );
  }
}
