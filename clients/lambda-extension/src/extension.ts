import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { z } from 'zod';
import { Meterline, type TrackEvent } from '../../node/src/client.js';
import { Journal, type NativeEvent } from './journal.js';

/** The extension's name: Lambda requires it to be the file name under /opt/extensions/. */
export const EXTENSION_NAME = 'meterline';
/** Where the extension listens unless METERLINE_EXTENSION_URL names another port; the CDK construct sets it. */
export const DEFAULT_EXTENSION_URL = 'http://127.0.0.1:4791';

export interface ExtensionConfig {
  /** host:port of the Extensions API (AWS_LAMBDA_RUNTIME_API). */
  runtimeApi: string;
  apiUrl: string;
  apiKey: string;
  extensionUrl: string;
  /** Where the journal of events not yet settled lives. */
  journalDir: string;
  /** The client's batching: a batch goes out at this age of its first event, or full. Default 1,000 ms. */
  flushIntervalMs?: number;
  /** How long an INVOKE may wait for batches still in flight before the extension reports done. Default 500 ms. */
  invokeWaitMs?: number;
  log?: (message: string, details?: Record<string, unknown>) => void;
}

const SHUTDOWN_MARGIN_MS = 100;
/** The API's limit per request. */
const MAX_EVENTS = 1000;
/** Events held at most (buffered and in flight); a hand-over past it is answered 503 and stays with the function. */
const MAX_HELD = 10_000;

const handOver = z
  .array(z.object({ id: z.string().min(1).max(256) }).passthrough())
  .min(1)
  .max(MAX_EVENTS);

/**
 * The Meterline Lambda extension: a process beside the function that takes its usage events over localhost and sends
 * them to Meterline with the Node client's batching and retries (same ids, backoff, Retry-After), so the function's
 * answer never waits on Meterline. Lifecycle, by the Extensions API: register for INVOKE and SHUTDOWN; at each INVOKE,
 * let the batches in flight finish (bounded) while the handler runs, then ask for the next event; at SHUTDOWN, send
 * everything held within the deadline Lambda gives. Events are journaled before they are acknowledged (journal.ts).
 */
export async function runExtension(config: ExtensionConfig): Promise<void> {
  const log = config.log ?? ((message, details) => console.log(JSON.stringify({ extension: EXTENSION_NAME, message, ...details })));
  const journal = new Journal(config.journalDir);
  const client = new Meterline({
    apiKey: config.apiKey,
    baseUrl: config.apiUrl,
    // The extension sends to Meterline itself, never to an extension.
    extensionUrl: null,
    flushIntervalMs: config.flushIntervalMs ?? 1000,
    maxBufferedEvents: MAX_HELD,
    onSettled: (ids) => journal.done(ids),
    onRejected: (rejections) => log('events rejected', { count: rejections.length, first: rejections[0] }),
    onDropped: (events, reason, error) => log('events dropped', { count: events.length, reason, error: error?.message }),
  });
  const replayed = journal.events();
  for (const event of replayed) client.track(event as TrackEvent);
  if (replayed.length) log('sending events a previous process held', { count: replayed.length });

  const server = await listen(config.extensionUrl, (req, res) => receive(req, res, config.apiKey, journal, client));
  const api = `http://${config.runtimeApi}/2020-01-01/extension`;
  const registered = await fetch(`${api}/register`, {
    method: 'POST',
    headers: { 'lambda-extension-name': EXTENSION_NAME, 'content-type': 'application/json' },
    body: JSON.stringify({ events: ['INVOKE', 'SHUTDOWN'] }),
  });
  const id = registered.headers.get('lambda-extension-identifier');
  if (!registered.ok || !id) throw new Error(`registration refused: ${registered.status} ${await registered.text()}`);

  for (;;) {
    const res = await fetch(`${api}/event/next`, { headers: { 'lambda-extension-identifier': id } });
    if (!res.ok) throw new Error(`event/next answered ${res.status}`);
    const event = (await res.json()) as { eventType: 'INVOKE' | 'SHUTDOWN'; deadlineMs: number };
    if (event.eventType === 'SHUTDOWN') {
      // Everything held goes now; what the deadline cuts off stays in the journal (lost with the environment).
      await within(client.shutdown(), event.deadlineMs - Date.now() - SHUTDOWN_MARGIN_MS);
      server.close();
      if (journal.size) log('shut down with events unsent', { count: journal.size });
      return;
    }
    // The handler runs now. A batch in flight finishes while it does, so it is not frozen mid-request (a frozen one is
    // retried after the thaw, with the same ids); it waits no longer than invokeWaitMs, to bill the function little.
    await within(client.settled(), Math.min(config.invokeWaitMs ?? 500, event.deadlineMs - Date.now() - SHUTDOWN_MARGIN_MS));
  }
}

/** POST /v1/events from the function: journaled, then buffered, then answered as Meterline answers an accepted batch. */
async function receive(req: IncomingMessage, res: ServerResponse, apiKey: string, journal: Journal, client: Meterline): Promise<void> {
  const reply = (status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (req.method !== 'POST' || req.url !== '/v1/events')
    return reply(404, { code: 'NOT_FOUND', message: 'the extension takes POST /v1/events only' });
  // The extension sends under its own key; it takes events only from a function that holds that same key.
  if (!sameSecret(req.headers.authorization ?? '', `Bearer ${apiKey}`))
    return reply(403, {
      code: 'EXTENSION_KEY_MISMATCH',
      message: 'the function sends with another API key than the Meterline extension (METERLINE_API_KEY)',
      field: 'authorization',
    });
  let parsed: NativeEvent[];
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const result = handOver.safeParse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    if (!result.success) {
      const issue = result.error.issues[0]!;
      return reply(400, { code: 'INVALID_EVENTS', message: issue.message, field: issue.path.join('.') || 'body' });
    }
    parsed = result.data as NativeEvent[];
  } catch {
    return reply(400, { code: 'INVALID_JSON', message: 'the body is not JSON', field: 'body' });
  }
  const room = MAX_HELD - client.stats().pending;
  if (parsed.length > room) {
    res.setHeader('retry-after', '1');
    return reply(503, { code: 'EXTENSION_FULL', message: 'the extension holds as many events as it may; try again shortly' });
  }
  journal.add(parsed);
  for (const event of parsed) client.track(event as TrackEvent);
  reply(202, {
    accepted: parsed.length,
    duplicates: 0,
    rejected: 0,
    failed: 0,
    results: parsed.map((e, index) => ({ index, id: e.id, status: 'accepted' })),
  });
}

function sameSecret(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}

function listen(url: string, handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>): Promise<Server> {
  const { hostname, port } = new URL(url);
  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(port), hostname, () => resolve(server));
  });
}

/** Waits for `work`, or `ms` at most: the work goes on either way. */
async function within(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work, new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, ms))))]);
  clearTimeout(timer);
}
