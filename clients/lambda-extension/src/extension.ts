import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { z } from 'zod';
import { Meterline, type TrackEvent } from '../../node/src/client.js';
import { splitAddress } from '../../node/src/extension-link.js';
import { Journal, type NativeEvent } from './journal.js';

/** The extension's name: Lambda requires it to be the file name under /opt/extensions/. */
export const EXTENSION_NAME = 'meterline';
/** Where the extension listens unless METERLINE_EXTENSION_ADDRESS names another; the CDK helper sets it. */
export const DEFAULT_EXTENSION_ADDRESS = '127.0.0.1:4791';

export interface ExtensionConfig {
  /** host:port of the Extensions API (AWS_LAMBDA_RUNTIME_API). */
  runtimeApi: string;
  apiUrl: string;
  apiKey: string;
  /** host:port of the local socket the function's client hands its batches to. */
  extensionAddress: string;
  /** Where the journal of events not yet settled lives. */
  journalDir: string;
  /** The client's batching: a batch goes out at this age of its first event, or full. Default 1,000 ms. */
  flushIntervalMs?: number;
  /** How long an INVOKE may wait for batches still in flight before the extension reports done. Default 500 ms. */
  invokeWaitMs?: number;
  log?: (message: string, details?: Record<string, unknown>) => void;
  /** Called once Lambda has taken the registration, before the first event is asked for. */
  onRegistered?: () => void;
}

const SHUTDOWN_MARGIN_MS = 100;
/** At SHUTDOWN, time for the sockets' unread hand-overs to be read before the last flush. */
const HAND_OVER_GRACE_MS = 20;
/** The API's limit per request. */
const MAX_EVENTS = 1000;
/** Events held at most (buffered and in flight); a batch past it is answered EXTENSION_FULL and goes to Meterline directly. */
const MAX_HELD = 10_000;

const batch = z.object({
  seq: z.number().int(),
  events: z
    .array(z.object({ id: z.string().min(1).max(256) }).passthrough())
    .min(1)
    .max(MAX_EVENTS),
});

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
    extensionAddress: null,
    flushIntervalMs: config.flushIntervalMs ?? 1000,
    maxBufferedEvents: MAX_HELD,
    onSettled: (ids) => journal.done(ids),
    onRejected: (rejections) => log('events rejected', { count: rejections.length, first: rejections[0] }),
    onDropped: (events, reason, error) => log('events dropped', { count: events.length, reason, error: error?.message }),
  });
  const replayed = journal.events();
  for (const event of replayed) client.track(event as TrackEvent);
  if (replayed.length) log('sending events a previous process held', { count: replayed.length });

  const server = await listen(config.extensionAddress, (socket) => serve(socket, config.apiKey, journal, client));
  const api = `http://${config.runtimeApi}/2020-01-01/extension`;
  const registered = await fetch(`${api}/register`, {
    method: 'POST',
    headers: { 'lambda-extension-name': EXTENSION_NAME, 'content-type': 'application/json' },
    body: JSON.stringify({ events: ['INVOKE', 'SHUTDOWN'] }),
  });
  const id = registered.headers.get('lambda-extension-identifier');
  if (!registered.ok || !id) throw new Error(`registration refused: ${registered.status} ${await registered.text()}`);
  config.onRegistered?.();

  for (;;) {
    const res = await fetch(`${api}/event/next`, { headers: { 'lambda-extension-identifier': id } });
    if (!res.ok) throw new Error(`event/next answered ${res.status}`);
    const event = (await res.json()) as { eventType: 'INVOKE' | 'SHUTDOWN'; deadlineMs: number };
    if (event.eventType === 'SHUTDOWN') {
      // Hand-overs written before the freeze are read first; then everything held goes, until the deadline. What it
      // cuts off stays in the journal, lost with the environment.
      await new Promise((resolve) => setTimeout(resolve, HAND_OVER_GRACE_MS));
      await within(client.flush(), event.deadlineMs - Date.now() - SHUTDOWN_MARGIN_MS);
      server.close();
      if (journal.size) log('shut down with events unsent', { count: journal.size });
      return;
    }
    // The handler runs now. A batch in flight finishes while it does, so it is not frozen mid-request (a frozen one is
    // retried after the thaw, with the same ids); it waits no longer than invokeWaitMs, to bill the function little.
    await within(client.settled(), Math.min(config.invokeWaitMs ?? 500, event.deadlineMs - Date.now() - SHUTDOWN_MARGIN_MS));
  }
}

/**
 * One function client's socket: lines of JSON, the first `{"authorization":"Bearer …"}`, then `{"seq":n,"events":[…]}`
 * per batch, each journaled, then buffered, then answered `{"seq":n,"status":"accepted"}`, or with a refusal's code.
 */
function serve(socket: Socket, apiKey: string, journal: Journal, client: Meterline): void {
  socket.setEncoding('utf8');
  socket.setNoDelay(true);
  let text = '';
  let authorized = false;
  const answer = (body: Record<string, unknown>) => socket.write(`${JSON.stringify(body)}\n`);
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: string) => {
    text += chunk;
    for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n')) {
      const line = text.slice(0, end);
      text = text.slice(end + 1);
      let message: unknown;
      try {
        message = JSON.parse(line);
      } catch {
        answer({ code: 'INVALID_JSON', message: 'a line is not JSON', field: 'body' });
        return void socket.end();
      }
      if (!authorized) {
        // The extension sends under its own key; it takes events only from a function that holds that same key.
        authorized = sameSecret(String((message as { authorization?: unknown }).authorization ?? ''), `Bearer ${apiKey}`);
        if (authorized) continue;
        answer({
          code: 'EXTENSION_KEY_MISMATCH',
          message: 'the function sends with another API key than the Meterline extension (METERLINE_API_KEY)',
          field: 'authorization',
        });
        return void socket.end();
      }
      answer(take(message, journal, client));
    }
  });
}

function take(message: unknown, journal: Journal, client: Meterline): Record<string, unknown> {
  const seq = (message as { seq?: unknown }).seq;
  const parsed = batch.safeParse(message);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { seq, code: 'INVALID_EVENTS', message: issue.message, field: issue.path.join('.') };
  }
  const events = parsed.data.events as NativeEvent[];
  if (events.length > MAX_HELD - client.stats().pending)
    return { seq, code: 'EXTENSION_FULL', message: 'the extension holds as many events as it may' };
  journal.add(events);
  for (const event of events) client.track(event as TrackEvent);
  return { seq, status: 'accepted' };
}

function sameSecret(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}

function listen(address: string, serve: (socket: Socket) => void): Promise<Server> {
  const [host, port] = splitAddress(address);
  const server = createServer(serve);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

/** Waits for `work`, or `ms` at most: the work goes on either way. */
async function within(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work, new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, ms))))]);
  clearTimeout(timer);
}
