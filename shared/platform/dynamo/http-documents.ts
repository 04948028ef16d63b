import { randomUUID } from 'node:crypto';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { jsonClient } from '../aws/json-client.js';
import type { Documents } from './documents.js';
import { unmarshallNumber } from './numbers.js';

type Item = Record<string, unknown>;
type WireItem = Record<string, AttributeValue>;

/**
 * The stores' calls over DynamoDB's JSON wire protocol (../aws/json-client.ts), items marshalled by the
 * SDK's own util-dynamodb exactly as its document client does: what deployed functions use, so that the
 * SDK's client stays out of their cold start. The endpoint is AWS_ENDPOINT_URL_DYNAMODB when set.
 */
export function httpDocuments(env: NodeJS.ProcessEnv = process.env): Documents {
  const client = jsonClient({ service: 'dynamodb', targetPrefix: 'DynamoDB_20120810', endpointId: 'DYNAMODB' }, { env });
  const call = async (operation: string, input: object): Promise<any> =>
    fromWire(await client.call<Record<string, unknown>>(operation, JSON.stringify(toWire(input))));
  return {
    get: (input) => call('GetItem', input),
    put: (input) => call('PutItem', input),
    update: (input) => call('UpdateItem', input),
    delete: (input) => call('DeleteItem', input),
    query: (input) => call('Query', input),
    scan: (input) => call('Scan', input),
    batchGet: (input) => call('BatchGetItem', input),
    batchWrite: (input) => call('BatchWriteItem', input),
    // As the SDK does, a token per call makes its retries idempotent for 10 minutes.
    transactWrite: (input) => call('TransactWriteItems', { ClientRequestToken: randomUUID(), ...input }),
  };
}

/** Where the document shapes hold items (a key, an item, expression values), in requests and answers alike. */
const ITEM_FIELDS = new Set(['Key', 'Item', 'ExpressionAttributeValues', 'ExclusiveStartKey', 'Attributes', 'LastEvaluatedKey']);
const ITEM_LISTS = new Set(['Keys', 'Items']);

/** A request with its items marshalled; binary values as base64, as JSON carries them. */
function toWire(value: unknown, field = ''): unknown {
  if (ITEM_FIELDS.has(field)) return binaryToBase64(marshall(value as Item, { removeUndefinedValues: true }));
  if (ITEM_LISTS.has(field)) return (value as Item[]).map((item) => binaryToBase64(marshall(item, { removeUndefinedValues: true })));
  if (Array.isArray(value)) return value.map((v) => toWire(v));
  if (value !== null && typeof value === 'object') {
    // Batch calls' RequestItems are maps of table names: walked through to the keys and items inside.
    return Object.fromEntries(Object.entries(value).flatMap(([k, v]) => (v === undefined ? [] : [[k, toWire(v, k)]])));
  }
  return value;
}

/** An answer with its items unmarshalled (BatchGetItem's Responses hold lists of items per table). */
function fromWire(value: unknown, field = ''): unknown {
  if (ITEM_FIELDS.has(field)) return unmarshallItem(value as WireItem);
  if (ITEM_LISTS.has(field)) return (value as WireItem[]).map(unmarshallItem);
  if (field === 'Responses')
    return Object.fromEntries(Object.entries(value as Record<string, WireItem[]>).map(([t, items]) => [t, items.map(unmarshallItem)]));
  if (Array.isArray(value)) return value.map((v) => fromWire(v));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fromWire(v, k)]));
  return value;
}

const unmarshallItem = (item: WireItem) => unmarshall(base64ToBinary(item), { wrapNumbers: unmarshallNumber });

function binaryToBase64(item: Record<string, AttributeValue>): Record<string, unknown> {
  return mapValues(item, (v) => convertBinary(v, (b) => Buffer.from(b as Uint8Array).toString('base64')));
}

function base64ToBinary(item: Record<string, unknown>): WireItem {
  return mapValues(item, (v) => convertBinary(v, (b) => Buffer.from(b as string, 'base64'))) as WireItem;
}

function convertBinary(v: any, convert: (b: unknown) => unknown): unknown {
  if ('B' in v) return { B: convert(v.B) };
  if ('BS' in v) return { BS: v.BS.map(convert) };
  if ('M' in v) return { M: mapValues(v.M, (x) => convertBinary(x, convert)) };
  if ('L' in v) return { L: v.L.map((x: unknown) => convertBinary(x, convert)) };
  return v;
}

const mapValues = <T>(o: Record<string, T>, f: (v: T) => unknown) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));
