import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { freePort } from './net.js';

/** An event as the bus received it. */
export interface BusEvent {
  id: string;
  bus: string;
  source: string;
  detailType: string;
  detail: unknown;
  time: string;
}

export interface EventBridgeEmulator {
  endpoint: string;
  /** Every event put on a bus, in order. */
  events: BusEvent[];
  stop(): Promise<void>;
}

/** PutEvents limits (AWS EventBridge quotas): at most 10 entries per call, the entries' total size below 256 KiB. */
const MAX_ENTRIES = 10;
const MAX_REQUEST_BYTES = 256 * 1024;

/**
 * A local EventBridge for `PutEvents` over the AWS JSON 1.1 protocol the real client speaks: it knows
 * only the buses it was given, applies AWS's entry-count and size limits (size computed as AWS documents:
 * 14 bytes for Time, UTF-8 bytes of Source, DetailType, Detail and each Resource), refuses a Detail that is
 * not a JSON object per entry (as AWS does, with an error code in that entry), and records what it accepts;
 * `onEvent` plays the bus's rules, handed each accepted event.
 */
export async function startEventBridge(buses: readonly string[], onEvent?: (event: BusEvent) => void): Promise<EventBridgeEmulator> {
  const events: BusEvent[] = [];
  const port = await freePort();
  const answer = (res: import('node:http').ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
    res.end(JSON.stringify(body));
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      if (target !== 'AWSEvents.PutEvents')
        return answer(res, 400, { __type: 'UnknownOperationException', message: `${target} is not emulated` });
      let body: {
        Entries?: { EventBusName?: string; Source?: string; DetailType?: string; Detail?: string; Resources?: string[]; Time?: number }[];
      };
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return answer(res, 400, { __type: 'SerializationException', message: 'the request is not JSON' });
      }
      const entries = body.Entries ?? [];
      if (entries.length < 1 || entries.length > MAX_ENTRIES) {
        return answer(res, 400, {
          __type: 'ValidationException',
          message: `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length between 1 and ${MAX_ENTRIES}`,
        });
      }
      const bytes = (s: string | undefined) => (s ? Buffer.byteLength(s, 'utf8') : 0);
      const size = entries.reduce(
        (n, e) =>
          n +
          (e.Time !== undefined ? 14 : 0) +
          bytes(e.Source) +
          bytes(e.DetailType) +
          bytes(e.Detail) +
          (e.Resources ?? []).reduce((r, x) => r + bytes(x), 0),
        0,
      );
      if (size > MAX_REQUEST_BYTES)
        return answer(res, 400, { __type: 'ValidationException', message: 'Total size of the entries in the request is over the limit.' });
      const results = entries.map((e) => {
        const bus = e.EventBusName ?? 'default';
        if (!buses.includes(bus)) return { ErrorCode: 'NotAuthorizedForSourceException', ErrorMessage: `Event bus ${bus} does not exist.` };
        if (!e.Source || !e.DetailType)
          return { ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameter Source and DetailType are required.' };
        let detail: unknown;
        try {
          detail = JSON.parse(e.Detail ?? '');
        } catch {
          return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
        }
        if (detail === null || typeof detail !== 'object' || Array.isArray(detail))
          return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
        const id = randomUUID();
        const accepted = {
          id,
          bus,
          source: e.Source,
          detailType: e.DetailType,
          detail,
          time: new Date(e.Time !== undefined ? e.Time * 1000 : Date.now()).toISOString(),
        };
        events.push(accepted);
        onEvent?.(accepted);
        return { EventId: id };
      });
      answer(res, 200, { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results });
    });
  });
  await new Promise<void>((done) => server.listen(port, '127.0.0.1', done));
  return {
    endpoint: `http://127.0.0.1:${port}`,
    events,
    stop: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
