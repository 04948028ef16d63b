import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/**
 * Write units a TransactWriteItems costs on DynamoDB, by AWS's published rules: 2 WCU per item per
 * started KB. DynamoDB Local's ReturnConsumedCapacity does not follow them for transactions (it
 * reports 4 units for any small transaction), so the benchmark sizes the items itself.
 */
export function transactionWriteUnits(
  items: {
    Put?: { Item?: Record<string, AttributeValue> };
    Update?: { ExpressionAttributeValues?: Record<string, AttributeValue>; Key?: Record<string, AttributeValue> };
  }[],
): number {
  let units = 0;
  for (const item of items) {
    // Counter items stay far below 1 KB, whatever the update adds.
    const size = item.Put?.Item ? itemSize(item.Put.Item) : 1;
    units += 2 * Math.max(1, Math.ceil(size / 1024));
  }
  return units;
}

function itemSize(item: Record<string, AttributeValue>): number {
  return Object.entries(item).reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + valueSize(value), 0);
}

function valueSize(v: AttributeValue): number {
  if (v.S !== undefined) return Buffer.byteLength(v.S);
  if (v.N !== undefined) return Math.ceil(v.N.replace(/[^0-9]/g, '').length / 2) + 1;
  if (v.B !== undefined) return v.B.length;
  if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
  if (v.M) return 3 + itemSize(v.M);
  if (v.L) return 3 + v.L.reduce((s, x) => s + 1 + valueSize(x), 0);
  if (v.SS) return v.SS.reduce((s, x) => s + Buffer.byteLength(x), 0);
  return 0;
}
