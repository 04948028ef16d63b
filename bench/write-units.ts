import {
  type AttributeValue,
  DynamoDBClient,
  type PutItemCommandInput,
  type TransactWriteItemsCommandInput,
} from '@aws-sdk/client-dynamodb';

/**
 * Write units by AWS's published rules: a standard write (PutItem, UpdateItem, a failed conditional put
 * included) costs 1 WCU per started KB of the item, a write inside TransactWriteItems 2 WCU per started KB
 * (DynamoDB performs two underlying writes per transactional item). DynamoDB Local's ReturnConsumedCapacity
 * does not follow them for transactions (it reports 4 units for any small transaction), so the benchmark
 * sizes the items itself.
 */
export function transactionWriteUnits(
  items: {
    Put?: { Item?: Record<string, AttributeValue> };
    Update?: { ExpressionAttributeValues?: Record<string, AttributeValue>; Key?: Record<string, AttributeValue> };
  }[],
): number {
  return items.reduce((units, item) => units + 2 * (item.Put?.Item ? writeUnits(item.Put.Item) : 1), 0);
}

/** A standard write of `item`; counter items stay far below 1 KB, whatever an update adds. */
export function writeUnits(item: Record<string, AttributeValue>): number {
  return Math.max(1, Math.ceil(itemSize(item) / 1024));
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

/** A DynamoDB client (endpoint from the environment) that keeps each transaction and put it sends, to be sized as above. */
export function recordingWrites(transactions: TransactWriteItemsCommandInput[], puts: PutItemCommandInput[]): DynamoDBClient {
  const client = new DynamoDBClient({});
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'TransactWriteItemsCommand') transactions.push(args.input as TransactWriteItemsCommandInput);
      if (context.commandName === 'PutItemCommand') puts.push(args.input as PutItemCommandInput);
      return next(args);
    },
    { step: 'initialize', name: 'recordWrites' },
  );
  return client;
}
