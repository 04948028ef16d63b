import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type {
  PutCommandInput,
  PutCommandOutput,
  TransactWriteCommandInput,
  TransactWriteCommandOutput,
  UpdateCommandInput,
  UpdateCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import type { LocalStack } from '../../local/stack.js';
import { DynamoCorrectionStore } from '../../shared/metering/adapters/correction-store.js';
import { correctedEvent } from '../../shared/metering/corrections.js';
import type { Meter } from '../../shared/metering/meters.js';
import { documentClient } from '../../shared/platform/dynamo/client.js';
import type { Documents } from '../../shared/platform/dynamo/documents.js';
import { awsError } from './fake-documents.js';

/**
 * What the proxy does with one request: pass it on; answer a status itself; drop the connection before
 * forwarding (nothing happened) or after the upstream answered (it happened, the client cannot know);
 * or hold the request before forwarding it (a slow answer: the client may give up while it still lands).
 */
export type Fault = 'pass' | { status: number; retryAfter?: string } | 'drop-before' | 'drop-after' | { delayMs: number };

export interface FaultProxy {
  url: string;
  /** Requests seen, by fault. */
  seen: Map<string, number>;
  close(): Promise<void>;
}

/** An HTTP proxy in front of the local stack that injects faults per request; an unreachable upstream drops the connection. */
export async function startFaultProxy(upstream: () => string, plan: (n: number, req: IncomingMessage) => Fault): Promise<FaultProxy> {
  let n = 0;
  const seen = new Map<string, number>();
  const server: Server = createServer(async (req, res) => {
    const fault = plan(n++, req);
    const name = typeof fault === 'string' ? fault : 'status' in fault ? `status-${fault.status}` : 'delay';
    seen.set(name, (seen.get(name) ?? 0) + 1);
    const body = await read(req);
    if (fault === 'drop-before') return req.socket.destroy();
    if (typeof fault === 'object' && 'status' in fault) {
      res.writeHead(fault.status, { 'content-type': 'application/json', ...(fault.retryAfter ? { 'retry-after': fault.retryAfter } : {}) });
      return res.end(JSON.stringify({ code: 'SERVICE_UNAVAILABLE', message: 'injected' }));
    }
    if (typeof fault === 'object') await new Promise((r) => setTimeout(r, fault.delayMs));
    forward(upstream(), req, body, res, fault === 'drop-after');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

function forward(target: string, req: IncomingMessage, body: Buffer, res: ServerResponse, dropAnswer: boolean): void {
  const url = new URL(req.url ?? '/', target);
  const out = request(url, { method: req.method, headers: { ...req.headers, host: url.host } }, (answer) => {
    const chunks: Buffer[] = [];
    answer.on('data', (c: Buffer) => chunks.push(c));
    answer.on('end', () => {
      if (dropAnswer || res.destroyed) return res.socket?.destroy();
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      res.end(Buffer.concat(chunks));
    });
  });
  out.on('error', () => res.socket?.destroy());
  out.end(body);
}

async function read(req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

/** A write a store makes through its `Documents` port, as a test sees it on the way out. */
export type Write =
  | { kind: 'put'; input: PutCommandInput }
  | { kind: 'update'; input: UpdateCommandInput }
  | { kind: 'transactWrite'; input: TransactWriteCommandInput };

/**
 * `documents` with its writes passed through `intercept`, which may fail one (throw), call `next` to make it, or both
 * in turn (a write that commits and then seems to fail); reads pass through untouched.
 */
export function interceptWrites(
  documents: Documents,
  intercept: (write: Write, next: () => Promise<unknown>) => Promise<unknown>,
): Documents {
  return {
    get: (input) => documents.get(input),
    query: (input) => documents.query(input),
    scan: (input) => documents.scan(input),
    batchGet: (input) => documents.batchGet(input),
    batchWrite: (input) => documents.batchWrite(input),
    delete: (input) => documents.delete(input),
    // Async, so an interceptor that throws fails the write's promise, as a failed request does.
    put: async (input) => intercept({ kind: 'put', input }, () => documents.put(input)) as Promise<PutCommandOutput>,
    update: async (input) => intercept({ kind: 'update', input }, () => documents.update(input)) as Promise<UpdateCommandOutput>,
    transactWrite: async (input) =>
      intercept({ kind: 'transactWrite', input }, () => documents.transactWrite(input)) as Promise<TransactWriteCommandOutput>,
  };
}

/**
 * Replaces a tenant's events' values through a correction store on `stack`'s tables, as the corrections API does,
 * whose next transaction, once `crashNext` is called, fails: before it is made (nothing happened), or after it
 * committed, with its answer lost (it happened, the caller cannot know).
 */
export function crashingCorrections(stack: LocalStack, tenantId: string, meter: Meter) {
  const crashing = crashingTransactions(documentClient(stack.dynamo));
  const store = new DynamoCorrectionStore(crashing.documents, {
    eventsTable: stack.env.EVENTS_TABLE!,
    countersTable: stack.env.COUNTERS_TABLE!,
  });
  return {
    crashNext: crashing.crashNext,
    replace: (eventId: string, correctionId: string, value: string) =>
      store.apply(tenantId, correctionId, eventId, (entry) => ({
        correctionId,
        tenantId,
        eventId,
        action: 'replace',
        by: 'admin',
        correctedAt: new Date().toISOString(),
        before: entry,
        after: correctedEvent(entry, meter, { correctionId, action: 'replace', value }, Date.now()),
      })),
  };
}

function crashingTransactions(documents: Documents): { documents: Documents; crashNext(when: 'before' | 'after'): void } {
  let crash: 'before' | 'after' | undefined;
  return {
    documents: interceptWrites(documents, async (write, next) => {
      const when = write.kind === 'transactWrite' ? crash : undefined;
      if (!when) return next();
      crash = undefined;
      if (when === 'before') throw Object.assign(new Error('crashed before the write'), { name: 'Crash' });
      await next();
      throw Object.assign(new Error('crashed after the write: the answer is lost'), { name: 'Crash' });
    }),
    crashNext: (when) => {
      crash = when;
    },
  };
}

/**
 * `documents` refusing, as DynamoDB refuses bad data (an item over 400 KB, say), every write that counts an event
 * `refused` names (the put claiming its ledger entry, or the transaction replaying it): a ValidationException, which no
 * retry can overcome. Its quarantined entry is still written.
 */
export function refuseEventWrites(documents: Documents, refused: (id: string) => boolean): Documents {
  return interceptWrites(documents, (write, next) => {
    const items =
      write.kind === 'put'
        ? [write.input.Item]
        : write.kind === 'transactWrite'
          ? (write.input.TransactItems ?? []).map((t) => t.Put?.Item)
          : [];
    if (items.some((item) => item?.status === 'counted' && refused(String(item.id ?? '')))) throw refusal();
    return next();
  });
}

/**
 * `documents` refusing every fold transaction adding to a counter an amount `refused` names, as DynamoDB refuses a sum
 * past its 38 significant digits.
 */
export function refuseFolds(documents: Documents, refused: (amount: string) => boolean): Documents {
  return interceptWrites(documents, (write, next) => {
    if (
      write.kind === 'transactWrite' &&
      (write.input.TransactItems ?? []).some((t) => refused(String(t.Update?.ExpressionAttributeValues?.[':add'] ?? '')))
    )
      throw refusal();
    return next();
  });
}

const refusal = () => awsError('ValidationException', 'Item size has exceeded the maximum allowed size');
