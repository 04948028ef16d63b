import type { components } from './api.js';
import { ExtensionLink } from './extension-link.js';
import { uuidv7 } from './ids.js';

type NativeEvent = components['schemas']['NativeEvent'];
type IngestResponse = components['schemas']['IngestResponse'];
type EventOutcome = components['schemas']['EventOutcome'];
export type QuotaStatus = components['schemas']['QuotaCheck'];
export type Entitlement = components['schemas']['Entitlement'];

/** A usage event as `track()` takes it: `id` and `timestamp` are filled in when absent. */
export interface TrackEvent {
  meter: string;
  value?: number | string;
  /** A Date or ISO 8601 with an offset; the moment `track()` was called when absent. */
  timestamp?: Date | string;
  /** A UUIDv7 when absent. Re-sending an id is safe: Meterline counts (tenant, id) once. */
  id?: string;
  subject?: string;
  properties?: Record<string, unknown>;
  /** Service keys: the tenant the usage belongs to (the client's `tenant` option when absent). */
  tenant?: string;
}

/** An event Meterline refused; re-sending it will not help (fix the event instead). */
export interface Rejection {
  event: NativeEvent;
  code: string;
  message: string;
  field?: string;
}

/** Why events were given up without Meterline counting them. */
export type DropReason = 'buffer-full' | 'retries-exhausted' | 'closed';

export interface Logger {
  warn(message: string, details?: Record<string, unknown>): void;
  error(message: string, details?: Record<string, unknown>): void;
}

export interface MeterlineOptions {
  apiKey: string;
  /** The API's base URL, e.g. https://api.meterline.example (no trailing /v1). */
  baseUrl: string;
  /** Default tenant of events that name none (service keys). */
  tenant?: string;
  /** A batch goes out at this many events (at most 1,000, the API's limit). Default 500. */
  maxBatchEvents?: number;
  /** ... or at this many bytes of JSON (below the API's 1 MiB). Default 512 KiB. */
  maxBatchBytes?: number;
  /** ... or this long after its first event. Default 1,000 ms. */
  flushIntervalMs?: number;
  /** Events held at most (buffered and in flight). At the bound `track()` drops and reports; `enqueue()` waits. Default 10,000. */
  maxBufferedEvents?: number;
  /** Requests in flight at once. Default 2. */
  concurrency?: number;
  /** A request slower than this is abandoned and retried. Default 10,000 ms. */
  requestTimeoutMs?: number;
  /** Attempts per batch before its events are dropped as `retries-exhausted`. Default 10. */
  maxAttempts?: number;
  /** Backoff: full jitter between 0 and min(maxBackoffMs, minBackoffMs × 2^attempt). Defaults 100 ms and 10,000 ms. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Events Meterline refused (per event). Without a handler they are logged. */
  onRejected?: (rejections: Rejection[]) => void;
  /** Events given up (buffer full, retries exhausted, client closed). Without a handler they are logged. */
  onDropped?: (events: NativeEvent[], reason: DropReason, error?: Error) => void;
  /** The ids of events settled: accepted, duplicate, rejected or dropped, so nothing more will be done with them. */
  onSettled?: (ids: string[]) => void;
  logger?: Logger;
  fetch?: typeof fetch;
  /**
   * The Meterline Lambda extension's local address, host:port (`METERLINE_EXTENSION_ADDRESS`, which its CDK helper
   * sets, when absent; `null` never uses one). Batches are handed to it over a local socket and it sends them on;
   * when it cannot take them, they go to Meterline directly as without it.
   */
  extensionAddress?: string | null;
}

/** Counters since the client was made: `tracked` = `accepted` + `duplicates` + `rejected` + `dropped` + `pending`. */
export interface ClientStats {
  tracked: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  dropped: number;
  /** Buffered or in flight. */
  pending: number;
  requests: number;
  retries: number;
}

interface Pending {
  event: NativeEvent;
  bytes: number;
}

/** HTTP statuses worth retrying with the same events: throttling and the server's transient failures. */
const RETRYABLE = new Set([408, 429, 500, 502, 503, 504]);
const MAX_EVENTS = 1000;

const consoleLogger: Logger = {
  warn: (message, details) => console.warn(`[meterline] ${message}`, details ?? ''),
  error: (message, details) => console.error(`[meterline] ${message}`, details ?? ''),
};

/**
 * Buffers usage events and sends them in batches. `track()` never waits on the network; batches go out
 * by count, bytes or time, are retried with the same ids on throttling, 5xx, timeouts and network errors,
 * and every event ends accepted, duplicate, rejected (reported) or dropped (reported): none vanishes.
 */
export class Meterline {
  private readonly o: Required<Omit<MeterlineOptions, 'tenant' | 'onRejected' | 'onDropped' | 'onSettled' | 'extensionAddress'>> &
    Pick<MeterlineOptions, 'tenant' | 'onRejected' | 'onDropped' | 'onSettled'>;
  /** Where batches are handed over first: the Lambda extension beside this function, when there is one. */
  private readonly link: ExtensionLink | undefined;
  /** Hand-overs not yet written to the extension's socket: what release() waits for. */
  private readonly writing = new Set<Promise<boolean>>();
  private buffer: Pending[] = [];
  private bufferBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private readonly sending = new Set<Promise<void>>();
  private readonly roomWaiters: (() => void)[] = [];
  private closed = false;
  private readonly counters: Omit<ClientStats, 'pending'> = {
    tracked: 0,
    accepted: 0,
    duplicates: 0,
    rejected: 0,
    dropped: 0,
    requests: 0,
    retries: 0,
  };
  private held = 0;

  constructor(options: MeterlineOptions) {
    this.o = {
      maxBatchEvents: 500,
      maxBatchBytes: 512 * 1024,
      flushIntervalMs: 1000,
      maxBufferedEvents: 10_000,
      concurrency: 2,
      requestTimeoutMs: 10_000,
      maxAttempts: 10,
      minBackoffMs: 100,
      maxBackoffMs: 10_000,
      logger: consoleLogger,
      fetch: globalThis.fetch.bind(globalThis),
      ...options,
      baseUrl: options.baseUrl.replace(/\/+$/, ''),
    };
    const extension = options.extensionAddress === undefined ? process.env.METERLINE_EXTENSION_ADDRESS : options.extensionAddress;
    if (extension) this.link = new ExtensionLink(extension, `Bearer ${this.o.apiKey}`, (m, d) => this.o.logger.warn(m, d));
    this.o.maxBatchEvents = Math.min(Math.max(1, this.o.maxBatchEvents), MAX_EVENTS);
  }

  /** Buffers an event and returns its id at once. At the buffer's bound the event is dropped and reported. */
  track(input: TrackEvent): string {
    const event = this.normalize(input);
    this.counters.tracked += 1;
    if (this.closed) {
      this.drop([event], 'closed');
    } else if (this.held >= this.o.maxBufferedEvents) {
      this.drop([event], 'buffer-full');
    } else {
      this.add(event);
    }
    return event.id;
  }

  /** Like `track()`, but at the buffer's bound waits for room instead of dropping. */
  async enqueue(input: TrackEvent): Promise<string> {
    while (!this.closed && this.held >= this.o.maxBufferedEvents) {
      await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    }
    return this.track(input);
  }

  /** Sends everything buffered now and resolves once each of those events is settled (sent, rejected or dropped). */
  async flush(): Promise<void> {
    this.cutBatches(true);
    while (this.sending.size > 0 || this.buffer.length > 0) {
      this.cutBatches(true);
      await Promise.race(this.sending);
    }
  }

  /** Resolves once the batches in flight now (and those their completion sends on) are settled; cuts none itself. */
  async settled(): Promise<void> {
    while (this.sending.size > 0) await Promise.race(this.sending);
  }

  /**
   * Hands everything buffered on and resolves once it is out of this process's keeping: written to the Lambda
   * extension's socket (which keeps it while the environment is frozen), or, without an extension or when it cannot
   * take them, settled as by flush(). The middy middleware calls it before each answer.
   */
  async release(): Promise<void> {
    if (!this.link?.usable) return this.flush();
    this.cutBatches(true);
    const written = await Promise.all(this.writing);
    if (written.includes(false) || this.buffer.length > 0) await this.flush();
  }

  /** Flushes and stops: later `track()` calls are reported as dropped (`closed`). */
  async shutdown(): Promise<void> {
    this.closed = true;
    await this.flush();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const wake of this.roomWaiters.splice(0)) wake();
  }

  stats(): ClientStats {
    return { ...this.counters, pending: this.held };
  }

  /**
   * Whether `quantity` more of `meter` fits the tenant's hard quota: `GET /v1/quotas/{meter}`. Throws
   * `MeterlineError` (404 when the meter has no quota) or the network's error.
   */
  async quota(meter: string, options: { quantity?: string | number; tenant?: string; timeoutMs?: number } = {}): Promise<QuotaStatus> {
    const params = new URLSearchParams();
    if (options.quantity !== undefined) params.set('quantity', String(options.quantity));
    return (await this.check(`/v1/quotas/${encodeURIComponent(meter)}`, params, options)) as QuotaStatus;
  }

  /**
   * Whether the tenant's plan includes `feature` now (`hasAccess`), with its value, or its usage and limit
   * for a metered feature: `GET /v1/entitlements/{feature}`. A feature the plan does not list answers
   * `hasAccess: false`. Throws `MeterlineError` or the network's error.
   */
  async entitlement(feature: string, options: { tenant?: string; timeoutMs?: number } = {}): Promise<Entitlement> {
    return (await this.check(`/v1/entitlements/${encodeURIComponent(feature)}`, new URLSearchParams(), options)) as Entitlement;
  }

  /** The quota and entitlement checks' GET: a service key names the tenant. */
  private async check(path: string, params: URLSearchParams, options: { tenant?: string; timeoutMs?: number }): Promise<unknown> {
    const tenant = options.tenant ?? this.o.tenant;
    if (tenant) params.set('tenant', tenant);
    const query = params.size ? `?${params}` : '';
    const res = await this.o.fetch(`${this.o.baseUrl}${path}${query}`, {
      headers: { authorization: `Bearer ${this.o.apiKey}` },
      signal: AbortSignal.timeout(options.timeoutMs ?? this.o.requestTimeoutMs),
    });
    const body = await res.json().catch(() => undefined);
    if (!res.ok) throw new MeterlineError(res.status, body as ErrorBody | undefined);
    return body;
  }

  private normalize(input: TrackEvent): NativeEvent {
    const { tenant = this.o.tenant, timestamp, id, ...rest } = input;
    const event: NativeEvent = {
      ...rest,
      id: id ?? uuidv7(),
      timestamp: timestamp === undefined ? new Date().toISOString() : typeof timestamp === 'string' ? timestamp : timestamp.toISOString(),
    };
    if (tenant !== undefined) event.tenant = tenant;
    return event;
  }

  private add(event: NativeEvent): void {
    const bytes = Buffer.byteLength(JSON.stringify(event)) + 1;
    this.buffer.push({ event, bytes });
    this.bufferBytes += bytes;
    this.held += 1;
    if (this.buffer.length >= this.o.maxBatchEvents || this.bufferBytes >= this.o.maxBatchBytes) this.cutBatches(false);
    else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.cutBatches(true);
      }, this.o.flushIntervalMs);
      // A pending flush never keeps a process alive: shutdown() (or flush()) sends what is left.
      this.timer.unref();
    }
  }

  /** Cuts full batches (and, when `all`, the rest) and sends them within the concurrency limit. */
  private cutBatches(all: boolean): void {
    // Hand-overs to the extension are local writes: the concurrency limit is for requests to Meterline.
    while (this.buffer.length > 0 && (this.inFlight < this.o.concurrency || this.link?.usable)) {
      let count = 0;
      let bytes = 2;
      while (
        count < this.buffer.length &&
        count < this.o.maxBatchEvents &&
        (count === 0 || bytes + this.buffer[count]!.bytes <= this.o.maxBatchBytes)
      ) {
        bytes += this.buffer[count]!.bytes;
        count += 1;
      }
      const full = count === this.o.maxBatchEvents || count < this.buffer.length;
      if (!full && !all) return;
      const batch = this.buffer.splice(0, count);
      this.bufferBytes -= batch.reduce((s, p) => s + p.bytes, 0);
      this.inFlight += 1;
      const sent: Promise<void> = this.send(batch.map((p) => p.event)).finally(() => {
        this.inFlight -= 1;
        this.sending.delete(sent);
        this.cutBatches(this.closed || this.timer === undefined);
      });
      this.sending.add(sent);
    }
    if (this.buffer.length === 0 && this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  /**
   * One batch until every event in it is settled: handed to the extension when there is one, else (or when it cannot
   * take them) posted to Meterline, where only the events not yet made durable are re-sent.
   */
  private async send(events: NativeEvent[]): Promise<void> {
    if (this.link?.usable) {
      const { written, answered } = this.link.handOver(events);
      this.writing.add(written);
      void written.finally(() => this.writing.delete(written));
      const outcome = await answered;
      if (outcome.status === 'accepted') {
        this.settle(events.length, 'accepted');
        this.o.onSettled?.(events.map((e) => e.id));
        return;
      }
      if (outcome.status === 'refused') {
        const { code, message, field } = outcome;
        this.reject(events.map((event) => ({ event, code, message, ...(field ? { field } : {}) })));
        return;
      }
    }
    let remaining = events;
    let lastError: Error | undefined;
    for (let attempt = 0; attempt < this.o.maxAttempts && remaining.length > 0; attempt++) {
      if (attempt > 0) {
        this.counters.retries += 1;
        await sleep(this.backoff(attempt, lastError));
      }
      try {
        remaining = await this.post(remaining);
        lastError = remaining.length > 0 ? new RetryLater(remaining.length) : undefined;
      } catch (error) {
        lastError = error as Error;
        if (error instanceof MeterlineError && !RETRYABLE.has(error.status)) {
          this.reject(
            remaining.map((event) => ({ event, code: error.code, message: error.message, ...(error.field ? { field: error.field } : {}) })),
          );
          return;
        }
      }
    }
    if (remaining.length > 0) this.drop(remaining, 'retries-exhausted', lastError);
  }

  /** Posts events; returns those to try again (a 503's NOT_DURABLE ones), or throws for the whole request. */
  private async post(events: NativeEvent[]): Promise<NativeEvent[]> {
    this.counters.requests += 1;
    const res = await this.o.fetch(`${this.o.baseUrl}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.o.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(events),
      signal: AbortSignal.timeout(this.o.requestTimeoutMs),
    });
    const answer = (await res.json().catch(() => undefined)) as (IngestResponse & ErrorBody) | undefined;
    if (res.status !== 202 && !(res.status === 503 && Array.isArray(answer?.results))) {
      throw new MeterlineError(res.status, answer, res.headers.get('retry-after'));
    }
    const retry: NativeEvent[] = [];
    const rejected: Rejection[] = [];
    const durable: string[] = [];
    for (const r of answer!.results as EventOutcome[]) {
      const event = events[r.index]!;
      if (r.status === 'accepted') this.settle(1, 'accepted');
      else if (r.status === 'duplicate') this.settle(1, 'duplicates');
      else if (r.status === 'failed') retry.push(event);
      else rejected.push({ event, code: r.code ?? 'REJECTED', message: r.message ?? 'rejected', ...(r.field ? { field: r.field } : {}) });
      if (r.status === 'accepted' || r.status === 'duplicate') durable.push(event.id);
    }
    if (durable.length) this.o.onSettled?.(durable);
    if (rejected.length) this.reject(rejected);
    return retry;
  }

  private backoff(attempt: number, error: Error | undefined): number {
    const hinted = error instanceof MeterlineError ? error.retryAfterMs : undefined;
    const ceiling = Math.min(this.o.maxBackoffMs, this.o.minBackoffMs * 2 ** attempt);
    const jittered = Math.random() * ceiling;
    return hinted !== undefined ? Math.min(this.o.maxBackoffMs, Math.max(hinted, jittered)) : jittered;
  }

  private settle(count: number, outcome: 'accepted' | 'duplicates' | 'rejected' | 'dropped'): void {
    this.counters[outcome] += count;
    this.held -= count;
    while (this.roomWaiters.length > 0 && this.held < this.o.maxBufferedEvents) this.roomWaiters.shift()!();
  }

  private reject(rejections: Rejection[]): void {
    this.settle(rejections.length, 'rejected');
    this.o.onSettled?.(rejections.map((r) => r.event.id));
    if (this.o.onRejected) this.o.onRejected(rejections);
    else this.o.logger.warn('events rejected', { count: rejections.length, first: rejections[0] });
  }

  private drop(events: NativeEvent[], reason: DropReason, error?: Error): void {
    // Events dropped at the door were never held.
    if (reason === 'retries-exhausted') this.settle(events.length, 'dropped');
    else this.counters.dropped += events.length;
    this.o.onSettled?.(events.map((e) => e.id));
    if (this.o.onDropped) this.o.onDropped(events, reason, error);
    else this.o.logger.error('events dropped', { count: events.length, reason, ...(error ? { error: error.message } : {}) });
  }
}

interface ErrorBody {
  code?: string;
  message?: string;
  field?: string;
}

/** An answer of Meterline's other than 2xx, with the error contract's code. */
export class MeterlineError extends Error {
  readonly code: string;
  readonly field?: string;
  readonly retryAfterMs?: number;
  constructor(
    readonly status: number,
    body?: ErrorBody,
    retryAfter?: string | null,
  ) {
    super(body?.message ?? `Meterline answered ${status}`);
    this.name = 'MeterlineError';
    this.code = body?.code ?? `HTTP_${status}`;
    if (body?.field) this.field = body.field;
    const seconds = retryAfter ? Number(retryAfter) : Number.NaN;
    if (Number.isFinite(seconds)) this.retryAfterMs = seconds * 1000;
  }
}

/** Some events of a batch were not made durable (503 NOT_DURABLE); they go again with the same ids. */
class RetryLater extends Error {
  constructor(count: number) {
    super(`${count} events were not made durable`);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
