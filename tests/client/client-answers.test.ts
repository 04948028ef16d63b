import { describe, expect, it, vi } from 'vitest';
import { type DropReason, Meterline, MeterlineError, type Rejection } from '../../clients/node/src/index.js';
import { freePort } from '../../local/net.js';

/**
 * The client against Meterline's answers, played by a fake `fetch`: each answer of the API's contract (and a network
 * that fails) ends every event accepted, duplicate, rejected or dropped, and says which.
 */
type Answer = { status: number; body?: unknown; headers?: Record<string, string> } | Error;

function fakeMeterline(...answers: Answer[]) {
  const requests: { url: string; events: { id: string; tenant?: string; timestamp: string }[]; authorization: string }[] = [];
  const fetch = vi.fn(async (url: string | URL | Request, init?: RequestInit) => {
    const headers = new Headers(init?.headers);
    requests.push({
      url: String(url),
      events: init?.body ? JSON.parse(String(init.body)) : [],
      authorization: headers.get('authorization') ?? '',
    });
    const answer = answers.length > 1 ? answers.shift()! : answers[0]!;
    if (answer instanceof Error) throw answer;
    const body = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body ?? null);
    return new Response(body, { status: answer.status, headers: answer.headers });
  });
  return { fetch: fetch as unknown as typeof globalThis.fetch, requests };
}

const accepted = (n: number, from = 0) => ({
  status: 202,
  body: { results: Array.from({ length: n }, (_, i) => ({ index: from + i, status: 'accepted' })) },
});

function client(fetch: typeof globalThis.fetch, options: Partial<ConstructorParameters<typeof Meterline>[0]> = {}) {
  const rejected: Rejection[] = [];
  const dropped: { ids: string[]; reason: DropReason; error?: string }[] = [];
  const settled: string[] = [];
  const meterline = new Meterline({
    apiKey: 'mk_test',
    baseUrl: 'https://api.meterline.test/',
    fetch,
    extensionAddress: null,
    minBackoffMs: 1,
    maxBackoffMs: 5,
    onRejected: (r) => rejected.push(...r),
    onDropped: (events, reason, error) => dropped.push({ ids: events.map((e) => e.id), reason, error: error?.message }),
    onSettled: (ids) => settled.push(...ids),
    ...options,
  });
  return { meterline, rejected, dropped, settled };
}

describe('the client and the API’s answers', () => {
  it('rejects a whole batch on a 4xx with the contract’s code, message and field, without retrying it', async () => {
    const api = fakeMeterline({ status: 400, body: { code: 'VALIDATION', message: 'meter is required', field: 'meter' } });
    const { meterline, rejected, settled } = client(api.fetch);
    const ids = [meterline.track({ meter: 'calls' }), meterline.track({ meter: 'calls' })];
    await meterline.flush();

    expect(api.requests).toHaveLength(1);
    expect(api.requests[0]!.url).toBe('https://api.meterline.test/v1/events');
    expect(api.requests[0]!.authorization).toBe('Bearer mk_test');
    expect(rejected.map((r) => [r.event.id, r.code, r.message, r.field])).toEqual(
      ids.map((id) => [id, 'VALIDATION', 'meter is required', 'meter']),
    );
    expect(settled).toEqual(ids);
    expect(meterline.stats()).toMatchObject({ tracked: 2, rejected: 2, pending: 0, retries: 0 });
  });

  it('names an answer without the error contract’s body by its status (HTTP_403), and leaves out a field it lacks', async () => {
    const api = fakeMeterline({ status: 403, body: '<html>Forbidden</html>' });
    const { meterline, rejected } = client(api.fetch);
    meterline.track({ meter: 'calls' });
    await meterline.flush();
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatchObject({ code: 'HTTP_403', message: 'Meterline answered 403' });
    expect(rejected[0]).not.toHaveProperty('field');
  });

  it('retries throttling, server errors and a failed network with the same ids, then counts the accepted once', async () => {
    const api = fakeMeterline(
      { status: 429, body: { code: 'RATE_LIMITED', message: 'slow down' }, headers: { 'retry-after': '0' } },
      { status: 502 },
      new TypeError('fetch failed'),
      accepted(3),
    );
    const { meterline, settled } = client(api.fetch);
    const ids = [1, 2, 3].map(() => meterline.track({ meter: 'calls', value: '1.5' }));
    await meterline.flush();

    expect(api.requests).toHaveLength(4);
    for (const request of api.requests) expect(request.events.map((e) => e.id)).toEqual(ids);
    expect(settled).toEqual(ids);
    expect(meterline.stats()).toMatchObject({ tracked: 3, accepted: 3, retries: 3, requests: 4, pending: 0 });
  });

  it('re-sends only a 503’s events that were not made durable; duplicates and per-event rejections settle at once', async () => {
    const api = fakeMeterline(
      {
        status: 503,
        body: {
          results: [
            { index: 0, status: 'accepted' },
            { index: 1, status: 'duplicate' },
            { index: 2, status: 'failed', code: 'NOT_DURABLE' },
            { index: 3, status: 'rejected' },
            { index: 4, status: 'rejected', code: 'TIMESTAMP_TOO_OLD', message: 'older than 35 days', field: 'timestamp' },
          ],
        },
      },
      accepted(1),
    );
    const { meterline, rejected } = client(api.fetch);
    const ids = [0, 1, 2, 3, 4].map(() => meterline.track({ meter: 'calls' }));
    await meterline.flush();

    expect(api.requests[1]!.events.map((e) => e.id)).toEqual([ids[2]]);
    // A rejection without a code or message still says it was refused.
    expect(rejected.map((r) => [r.code, r.message, r.field])).toEqual([
      ['REJECTED', 'rejected', undefined],
      ['TIMESTAMP_TOO_OLD', 'older than 35 days', 'timestamp'],
    ]);
    expect(meterline.stats()).toMatchObject({ accepted: 2, duplicates: 1, rejected: 2, pending: 0 });
  });

  it('drops a batch whose attempts run out, with the last error, and counts it', async () => {
    const api = fakeMeterline({ status: 500, body: { code: 'INTERNAL', message: 'boom' } });
    const { meterline, dropped } = client(api.fetch, { maxAttempts: 3 });
    const id = meterline.track({ meter: 'calls' });
    await meterline.flush();
    expect(api.requests).toHaveLength(3);
    expect(dropped).toEqual([{ ids: [id], reason: 'retries-exhausted', error: 'boom' }]);
    expect(meterline.stats()).toMatchObject({ dropped: 1, pending: 0, retries: 2 });
  });

  it('drops an enqueue that was waiting for room as closed when the client shuts down meanwhile', async () => {
    let answer!: () => void;
    const fetch = (async (_url: string | URL | Request, init?: RequestInit) => {
      await new Promise<void>((resolve) => (answer = resolve));
      const events = JSON.parse(String(init!.body)) as unknown[];
      return new Response(JSON.stringify(accepted(events.length).body), { status: 202 });
    }) as typeof globalThis.fetch;
    const { meterline, dropped } = client(fetch, { maxBufferedEvents: 1 });
    const first = meterline.track({ meter: 'calls' });
    const waiting = meterline.enqueue({ meter: 'calls' });
    const stopped = meterline.shutdown();
    await vi.waitFor(() => expect(answer).toBeDefined());
    answer();
    await stopped;
    const second = await waiting;
    expect(dropped).toEqual([{ ids: [second], reason: 'closed', error: undefined }]);
    expect(second).not.toBe(first);
    expect(meterline.stats()).toMatchObject({ tracked: 2, accepted: 1, dropped: 1, pending: 0 });
  });

  it('sends to Meterline directly when the extension METERLINE_EXTENSION_ADDRESS names does not listen', async () => {
    vi.stubEnv('METERLINE_EXTENSION_ADDRESS', `127.0.0.1:${await freePort()}`);
    try {
      const api = fakeMeterline(accepted(1));
      const { meterline, settled } = client(api.fetch, { extensionAddress: undefined });
      const id = meterline.track({ meter: 'calls' });
      await meterline.release();
      expect(settled).toEqual([id]);
      expect(api.requests).toHaveLength(1);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('logs what it rejects and drops when no handler is given: nothing is given up silently', async () => {
    const logger = { warn: vi.fn(), error: vi.fn() };
    const api = fakeMeterline({ status: 422, body: { code: 'UNKNOWN_METER', message: 'no meter calls' } });
    const meterline = new Meterline({ apiKey: 'k', baseUrl: 'http://x', fetch: api.fetch, extensionAddress: null, logger });
    meterline.track({ meter: 'calls' });
    await meterline.shutdown();
    meterline.track({ meter: 'calls' });

    expect(logger.warn).toHaveBeenCalledWith('events rejected', expect.objectContaining({ count: 1 }));
    expect(logger.error).toHaveBeenCalledWith('events dropped', { count: 1, reason: 'closed' });
    expect(meterline.stats()).toMatchObject({ tracked: 2, rejected: 1, dropped: 1, pending: 0 });
  });

  it('fills in the event: a Date timestamp as ISO 8601, the client’s tenant unless the event names one', async () => {
    const api = fakeMeterline(accepted(3));
    const { meterline } = client(api.fetch, { tenant: 'acme' });
    meterline.track({ meter: 'calls', timestamp: new Date('2026-03-01T10:00:00.000Z') });
    meterline.track({ meter: 'calls', tenant: 'globex', timestamp: '2026-03-01T11:00:00+01:00' });
    meterline.track({ meter: 'calls' });
    await meterline.flush();
    const [first, second, third] = api.requests[0]!.events;
    expect(first).toMatchObject({ tenant: 'acme', timestamp: '2026-03-01T10:00:00.000Z' });
    expect(second).toMatchObject({ tenant: 'globex', timestamp: '2026-03-01T11:00:00+01:00' });
    expect(new Date(third!.timestamp).getTime()).not.toBeNaN();
  });

  it('keeps batches within 1 to 1,000 events whatever maxBatchEvents says', async () => {
    const api = fakeMeterline(accepted(1000), accepted(5));
    const { meterline } = client(api.fetch, { maxBatchEvents: 5000 });
    for (let i = 0; i < 1005; i++) meterline.track({ meter: 'calls' });
    await meterline.flush();
    expect(api.requests.map((r) => r.events.length)).toEqual([1000, 5]);

    const one = fakeMeterline(accepted(1));
    const single = client(one.fetch, { maxBatchEvents: 0 }).meterline;
    single.track({ meter: 'calls' });
    single.track({ meter: 'calls' });
    await single.flush();
    expect(one.requests.map((r) => r.events.length)).toEqual([1, 1]);
  });
});

describe('quota and entitlement checks', () => {
  it('ask with the tenant and quantity, and throw MeterlineError with the contract’s code for a refusal', async () => {
    const api = fakeMeterline(
      { status: 200, body: { meter: 'calls', allowed: true } },
      { status: 404, body: { code: 'NO_QUOTA', message: 'calls has no quota' } },
      { status: 200, body: { feature: 'sso', hasAccess: false } },
    );
    const { meterline } = client(api.fetch, { tenant: 'acme' });
    await expect(meterline.quota('calls', { quantity: 3 })).resolves.toMatchObject({ allowed: true });
    const refusal = await meterline.quota('calls', { tenant: 'globex' }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(MeterlineError);
    expect(refusal).toMatchObject({ status: 404, code: 'NO_QUOTA', message: 'calls has no quota' });
    await expect(meterline.entitlement('single sign-on')).resolves.toMatchObject({ hasAccess: false });

    expect(api.requests.map((r) => r.url)).toEqual([
      'https://api.meterline.test/v1/quotas/calls?quantity=3&tenant=acme',
      'https://api.meterline.test/v1/quotas/calls?tenant=globex',
      'https://api.meterline.test/v1/entitlements/single%20sign-on?tenant=acme',
    ]);
  });

  it('asks without a query when neither tenant nor quantity is given', async () => {
    const api = fakeMeterline({ status: 200, body: { feature: 'sso', hasAccess: true } });
    await client(api.fetch).meterline.entitlement('sso');
    expect(api.requests[0]!.url).toBe('https://api.meterline.test/v1/entitlements/sso');
  });
});

describe('MeterlineError', () => {
  it('reads Retry-After in seconds and ignores one that is not a number', () => {
    expect(new MeterlineError(429, { code: 'RATE_LIMITED' }, '2').retryAfterMs).toBe(2000);
    expect(new MeterlineError(429, undefined, 'Wed, 21 Oct 2026 07:28:00 GMT').retryAfterMs).toBeUndefined();
    expect(new MeterlineError(503)).toMatchObject({ code: 'HTTP_503', message: 'Meterline answered 503', name: 'MeterlineError' });
  });
});
