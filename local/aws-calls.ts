import { AsyncLocalStorage } from 'node:async_hooks';
import diagnostics from 'node:diagnostics_channel';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { ClientRequest } from 'node:http';
import { resolve } from 'node:path';
import type { FunctionName } from '../infra/catalog.js';
import { tables } from '../shared/platform/dynamo/tables.js';

/**
 * The AWS calls each function makes while it runs here, for the permission test (tests/infra/permissions.test.ts),
 * which holds them against each function's synthesized IAM policy.
 *
 * Every AWS client in the code, the small JSON transport (shared/platform/aws) and the SDK's alike, sends its
 * requests through node:http, which announces each new request on a diagnostics channel; the local runtime runs
 * each invocation inside `asFunction`, so the announcement names the function whose code made the call. Requests
 * made outside an invocation (tests seeding tables, the local runtime's own set-up) belong to no function and are
 * not recorded. Nothing here is part of a deployed bundle: functions never import local/.
 *
 * A call is recorded as one line, `<IAM action> <resource> [<partition key>]`: the action IAM authorises it by
 * (a transaction's items by their own actions, a batch by its single-item one where IAM does), the table (and
 * index), queue, bus or secret by its name in the stack, and for DynamoDB each partition key it touches with its
 * variable parts as `*` (`TENANT#acme#APIKEYS` is `TENANT#*#APIKEYS`), which is what `dynamodb:LeadingKeys`
 * conditions are matched against.
 */

/** The committed record, by function: every call the suite and `npm start` make. */
export const recordFile = resolve(import.meta.dirname, '..', 'tests', 'infra', 'aws-calls.json');
export const regenerate =
  'AWS_CALLS=record npx vitest run (then AWS_CALLS=record npm start, driven briefly); see docs/operations.md#permissions';

export type AwsCallRecord = Partial<Record<FunctionName, string[]>>;

const invocation = new AsyncLocalStorage<FunctionName>();

/** Runs `work` as function `name`'s code: the AWS calls it makes, however deep, are that function's. */
export const asFunction = <T>(name: FunctionName, work: () => T): T => invocation.run(name, work);

const seen = new Map<FunctionName, Set<string>>();
let listening = false;

/** Starts recording (once per process). */
export function recordAwsCalls(): void {
  if (listening) return;
  listening = true;
  diagnostics.subscribe('http.client.request.created', (message) => {
    const fn = invocation.getStore();
    if (!fn) return;
    const request = (message as { request: ClientRequest }).request;
    const target = request.getHeader('x-amz-target');
    if (typeof target !== 'string') return;
    // The body is written after the request is made: collect it, then read the call from it.
    const chunks: Buffer[] = [];
    const write = request.write;
    const end = request.end;
    const collect = (chunk: unknown) => {
      if (typeof chunk === 'string' || chunk instanceof Uint8Array) chunks.push(Buffer.from(chunk as string));
    };
    request.write = function (this: ClientRequest, chunk: unknown, ...rest: unknown[]) {
      collect(chunk);
      return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
    } as typeof request.write;
    request.end = function (this: ClientRequest, chunk?: unknown, ...rest: unknown[]) {
      if (typeof chunk !== 'function') collect(chunk);
      let calls: string[];
      try {
        calls = describeCall(target, Buffer.concat(chunks).toString('utf8'));
      } catch (error) {
        calls = [`unreadable ${target}: ${(error as Error).message}`];
      }
      const own = seen.get(fn) ?? seen.set(fn, new Set()).get(fn)!;
      for (const call of calls) own.add(call);
      return (end as (...a: unknown[]) => ClientRequest).call(this, chunk, ...rest);
    } as typeof request.end;
  });
}

/** What this process has recorded so far. */
export function recordedCalls(): AwsCallRecord {
  return Object.fromEntries([...seen].map(([fn, calls]) => [fn, [...calls].sort()]));
}

export function readRecord(file = recordFile): AwsCallRecord {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as AwsCallRecord) : {};
}

/** The calls in `calls` that `record` does not hold, one line each: `<function> <action> <resource> [<key>]`. */
export function unrecorded(calls: AwsCallRecord, record: AwsCallRecord): string[] {
  return Object.entries(calls).flatMap(([fn, list]) => {
    const known = new Set(record[fn as FunctionName] ?? []);
    return (list ?? []).filter((call) => !known.has(call)).map((call) => `${fn} ${call}`);
  });
}

/**
 * At the end of a local run: with AWS_CALLS=record, adds this process's calls to the committed record; otherwise
 * throws when a function made a call the record does not hold, which the permission test could not have checked.
 */
export function settleAwsCalls(file = recordFile): void {
  if (!listening) return;
  if (process.env.AWS_CALLS === 'record') {
    mergeIntoRecord(recordedCalls(), file);
    return;
  }
  const missing = unrecorded(recordedCalls(), readRecord(file));
  if (missing.length > 0)
    throw new Error(
      `AWS calls the permission record does not hold (tests/infra/aws-calls.json), so no test checked that their function may make them:\n  ${missing.join('\n  ')}\nRecord them with: ${regenerate}`,
    );
}

/** Adds `calls` to the record file, sorted; test files run in parallel processes, so one writer at a time. */
export function mergeIntoRecord(calls: AwsCallRecord, file = recordFile): void {
  const lock = `${file}.lock`;
  for (let waited = 0; ; waited += 20) {
    try {
      closeSync(openSync(lock, 'wx'));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || waited > 30_000) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
  try {
    const record = readRecord(file);
    for (const [fn, list] of Object.entries(calls)) {
      record[fn as FunctionName] = [...new Set([...(record[fn as FunctionName] ?? []), ...(list ?? [])])].sort();
    }
    const sorted = Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
    writeFileSync(file, `${JSON.stringify(sorted, null, 2)}\n`);
  } finally {
    rmSync(lock, { force: true });
  }
}

type Wire = Record<string, any>;

/** The record lines of one request: X-Amz-Target names the service and operation, the JSON body the rest. */
export function describeCall(target: string, text: string): string[] {
  const [prefix, operation] = target.split('.') as [string, string];
  const body = (text ? JSON.parse(text) : {}) as Wire;
  switch (prefix) {
    case 'DynamoDB_20120810':
      return dynamoCalls(operation, body);
    case 'AmazonSQS':
      return [`sqs:${sqsActions[operation] ?? operation} ${queueResource(body.QueueUrl)}`];
    case 'AWSEvents':
      return [...new Set(((body.Entries ?? [{}]) as Wire[]).map((e) => `events:${operation} bus/${busName(e.EventBusName)}`))];
    case 'secretsmanager':
      return [
        `secretsmanager:${operation} secret/${String(body.SecretId)
          .split(/[/:]/)
          .at(-1)!
          .replace(/-\w{6}$/, '')}`,
      ];
    default:
      return [`${prefix}:${operation} ?`];
  }
}

/** SQS batch calls are authorised by their single-message actions. */
const sqsActions: Record<string, string> = {
  SendMessageBatch: 'SendMessage',
  DeleteMessageBatch: 'DeleteMessage',
  ChangeMessageVisibilityBatch: 'ChangeMessageVisibility',
};

function dynamoCalls(operation: string, body: Wire): string[] {
  const on = (action: string, table: string, keys: (string | undefined)[], index?: string) => {
    const resource = `table/${tableResource(table)}${index ? `/index/${index}` : ''}`;
    return keys.length === 0 ? [`dynamodb:${action} ${resource}`] : keys.map((k) => `dynamodb:${action} ${resource} ${leadingKey(k)}`);
  };
  const pk = (item: Wire | undefined) => item?.pk?.S as string | undefined;
  switch (operation) {
    case 'GetItem':
    case 'DeleteItem':
    case 'UpdateItem':
      return on(operation, body.TableName, [pk(body.Key)]);
    case 'PutItem':
      return on(operation, body.TableName, [pk(body.Item)]);
    case 'Query':
      return on(operation, body.TableName, [queriedPartition(body)], body.IndexName);
    case 'Scan':
      return on(operation, body.TableName, [], body.IndexName);
    case 'BatchGetItem':
      return Object.entries(body.RequestItems as Record<string, Wire>).flatMap(([table, r]) =>
        on(operation, table, (r.Keys as Wire[]).map(pk)),
      );
    case 'BatchWriteItem':
      return Object.entries(body.RequestItems as Record<string, Wire[]>).flatMap(([table, requests]) =>
        on(
          operation,
          table,
          requests.map((r) => pk(r.PutRequest?.Item ?? r.DeleteRequest?.Key)),
        ),
      );
    case 'TransactWriteItems':
    case 'TransactGetItems': {
      // No action of its own: each item is authorised by the action it performs.
      const actions: Record<string, string> = {
        Put: 'PutItem',
        Update: 'UpdateItem',
        Delete: 'DeleteItem',
        ConditionCheck: 'ConditionCheckItem',
        Get: 'GetItem',
      };
      return (body.TransactItems as Wire[]).flatMap((item) =>
        Object.entries(item).flatMap(([kind, op]) => on(actions[kind] ?? kind, op.TableName, [pk(op.Item ?? op.Key)])),
      );
    }
    default:
      return on(operation, body.TableName ?? '?', []);
  }
}

/** The partition a query reads: the value its key condition gives the (index's) partition key. */
function queriedPartition(body: Wire): string | undefined {
  const key = body.IndexName ? `${body.IndexName}pk` : 'pk';
  for (const [, name, value] of String(body.KeyConditionExpression).matchAll(/([#\w]+)\s*=\s*(:\w+)/g)) {
    const attribute = name!.startsWith('#') ? body.ExpressionAttributeNames?.[name!] : name;
    if (attribute === key) return body.ExpressionAttributeValues?.[value!]?.S;
  }
  return undefined;
}

/**
 * A partition key with its variable parts as `*`: segments (split at `#`) that are upper-case tags stay, the rest
 * (tenant, key, session and event ids, which are lower case) become `*`, runs of them one `*`. A key that does
 * not begin with a tag (the ledger's `<tenant>#<event id>`, the counters' `<tenant>#<meter>`) is all `*` after any
 * leading empty segment.
 */
export function leadingKey(key: string | undefined): string {
  if (key === undefined) return '(none)';
  const tag = /^[A-Z][A-Z_-]*$/;
  const segments = key.split('#');
  if (segments[0] !== '' && !tag.test(segments[0]!)) return '*';
  const shapes = segments.map((s, i) => ((s === '' && i === 0) || tag.test(s) ? s : '*'));
  return shapes.filter((s, i) => !(s === '*' && shapes[i - 1] === '*')).join('#');
}

/** A local table (`<stack prefix>-<table>`) by its name in the stack. */
function tableResource(name: string): string {
  return Object.keys(tables).find((t) => name.endsWith(`-${t}`)) ?? `?${name}`;
}

/** A local queue (`<stack prefix>-<queue>[-dlq]`, local/resources.ts) by its name in the stack. */
function queueResource(url: unknown): string {
  const name = String(url).split('/').at(-1)!;
  const queue = /-(usage|webhooks|reports|emails)(-dlq)?$/.exec(name);
  return queue ? `queue/${queue[1]}${queue[2] ?? ''}` : `queue/?${name}`;
}

/** The bus is `meterline-<stage>` in AWS and `meterline-local` here. */
function busName(name: unknown): string {
  return typeof name === 'string' && name.startsWith('meterline-') ? 'meterline' : `?${String(name)}`;
}
