import { connect, type Socket } from 'node:net';
import type { components } from './api.js';

type NativeEvent = components['schemas']['NativeEvent'];

/** What became of a batch handed to the extension. */
export type HandOverOutcome =
  | { status: 'accepted' }
  /** The extension found the events malformed: Meterline would refuse them too. */
  | { status: 'refused'; code: string; message: string; field?: string }
  /** Not taken (no extension, gone, full, another key): the batch goes to Meterline directly, with the same ids. */
  | { status: 'unavailable' };

/** After a failed connection, batches go directly for this long before the extension is tried again. */
const RETRY_AFTER_MS = 5_000;

/**
 * The client's end of the Meterline Lambda extension's local socket. Lines of JSON: the first names the API key, then
 * one line per batch, `{"seq":n,"events":[...]}`, which the extension answers `{"seq":n,"status":"accepted"}` once it
 * has journaled them, or with a refusal's `code`. A batch is handed over as soon as it is written to the socket: the
 * kernel keeps it for the extension while Lambda freezes the environment, and its answer settles it later.
 */
export class ExtensionLink {
  private socket: Socket | undefined;
  private seq = 0;
  private readonly waiting = new Map<number, (outcome: HandOverOutcome) => void>();
  private pendingText = '';
  private downUntil = 0;
  private disabled = false;

  constructor(
    private readonly address: string,
    private readonly authorization: string,
    private readonly warn: (message: string, details?: Record<string, unknown>) => void,
  ) {}

  /** Whether batches should be handed over now (false for a while after the extension could not be reached). */
  get usable(): boolean {
    return !this.disabled && Date.now() >= this.downUntil;
  }

  /** `written` resolves true once the line is in the socket (false if it could not be); `answered` with the outcome. */
  handOver(events: NativeEvent[]): { written: Promise<boolean>; answered: Promise<HandOverOutcome> } {
    const socket = this.open();
    const seq = ++this.seq;
    const answered = new Promise<HandOverOutcome>((resolve) => this.waiting.set(seq, resolve));
    let done: (ok: boolean) => void = () => undefined;
    const callback = new Promise<boolean>((resolve) => (done = resolve));
    socket.write(`${JSON.stringify({ seq, events })}\n`, (error) => done(!error));
    // On a connected socket a small write reaches the kernel at once: nothing left to wait for, not even an event loop turn.
    const written = !socket.connecting && socket.writableLength === 0 ? Promise.resolve(true) : callback;
    return { written, answered };
  }

  private open(): Socket {
    if (this.socket) return this.socket;
    const [host, port] = splitAddress(this.address);
    const socket = connect({ host, port, noDelay: true });
    // The link never keeps a process alive; a batch waiting on it is settled by flush() or goes directly.
    socket.unref();
    socket.setEncoding('utf8');
    socket.write(`${JSON.stringify({ authorization: this.authorization })}\n`);
    socket.on('data', (chunk: string) => this.read(chunk));
    const down = () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.pendingText = '';
      this.downUntil = Date.now() + RETRY_AFTER_MS;
      for (const [seq, resolve] of this.waiting) {
        this.waiting.delete(seq);
        resolve({ status: 'unavailable' });
      }
    };
    socket.on('error', down);
    socket.on('close', down);
    this.socket = socket;
    return socket;
  }

  private read(chunk: string): void {
    this.pendingText += chunk;
    for (let end = this.pendingText.indexOf('\n'); end >= 0; end = this.pendingText.indexOf('\n')) {
      const line = this.pendingText.slice(0, end);
      this.pendingText = this.pendingText.slice(end + 1);
      const answer = JSON.parse(line) as { seq?: number; status?: string; code?: string; message?: string; field?: string };
      if (answer.seq === undefined) {
        // The extension refused the connection itself (another key): nothing it could carry, so all goes directly.
        this.disabled = true;
        this.warn('the Meterline extension refused this client; sending to Meterline directly', {
          code: answer.code,
          message: answer.message,
        });
        continue;
      }
      const resolve = this.waiting.get(answer.seq);
      this.waiting.delete(answer.seq);
      if (!resolve) continue;
      if (answer.status === 'accepted') resolve({ status: 'accepted' });
      else if (answer.code === 'INVALID_EVENTS')
        resolve({
          status: 'refused',
          code: answer.code,
          message: answer.message ?? 'invalid events',
          ...(answer.field ? { field: answer.field } : {}),
        });
      else resolve({ status: 'unavailable' });
    }
  }
}

/** `host:port`, as METERLINE_EXTENSION_ADDRESS holds it. */
export function splitAddress(address: string): [string, number] {
  const at = address.lastIndexOf(':');
  return [address.slice(0, at), Number(address.slice(at + 1))];
}
