import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DropReason, Meterline, type Rejection } from '../../clients/node/src/index.js';
import type { LocalStack } from '../../local/stack.js';
import { type Fault, startFaultProxy } from '../support/faults.js';
import { api, createTenant, startTestStack } from '../support/stack.js';

const count = async (stack: LocalStack, key: string, meter: string) =>
  (await api(stack, 'GET', '/v1/usage/current', key)).body.meters.find((m: { meter: string }) => m.meter === meter)?.events ?? 0;

/** Fast retries, short timeouts: the faults below would otherwise take minutes. */
const quick = { minBackoffMs: 10, maxBackoffMs: 300, requestTimeoutMs: 1_000, maxAttempts: 60, flushIntervalMs: 20 };

describe('the client against the local stack with injected faults', () => {
  let stack: LocalStack;
  let key: string;
  let prefix: string;
  let port: number;

  beforeAll(async () => {
    stack = await startTestStack();
    key = await createTenant(stack, 'acme');
    prefix = stack.env.TENANTS_TABLE!.replace(/-tenants$/, '');
    port = Number(new URL(stack.apiUrl).port);
  });
  afterAll(() => stack?.stop());

  it('counts every event exactly once through 503s, dropped connections, slow answers and a stack restart', async () => {
    // A repeating pattern of faults over the requests the client makes.
    const pattern: Fault[] = [
      'pass',
      { status: 503, retryAfter: '0' },
      'drop-before',
      'pass',
      'drop-after',
      { status: 429 },
      { delayMs: 1_500 },
      'pass',
      { status: 503 },
    ];
    const proxy = await startFaultProxy(
      () => stack.apiUrl,
      (n) => pattern[n % pattern.length]!,
    );
    const dropped: unknown[] = [];
    const client = new Meterline({ apiKey: key, baseUrl: proxy.url, maxBatchEvents: 50, ...quick, onDropped: (e) => dropped.push(...e) });
    const tracked = new Set<string>();
    for (let i = 0; i < 800; i++) tracked.add(client.track({ meter: 'api_calls', properties: { route: '/a' } }));
    await client.flush();

    // The stack goes away and comes back on the same tables while the next events are being sent.
    for (let i = 0; i < 400; i++) tracked.add(client.track({ meter: 'api_calls' }));
    await stack.stop();
    const sending = client.flush();
    await new Promise((r) => setTimeout(r, 1_000));
    stack = await startTestStack({ prefix, port });
    await sending;
    await client.shutdown();
    await proxy.close();
    await stack.drained();

    expect(tracked.size).toBe(1_200);
    expect(dropped).toEqual([]);
    const stats = client.stats();
    expect(stats).toMatchObject({ tracked: 1_200, rejected: 0, dropped: 0, pending: 0 });
    expect(stats.accepted + stats.duplicates).toBe(1_200);
    expect(stats.retries).toBeGreaterThan(10);
    for (const fault of ['status-503', 'drop-before', 'drop-after', 'status-429', 'delay'])
      expect(proxy.seen.get(fault)).toBeGreaterThan(0);
    expect(await count(stack, key, 'api_calls')).toBe(1_200);
  });

  it('batches by count, bytes and time', async () => {
    let posts = 0;
    const proxy = await startFaultProxy(
      () => stack.apiUrl,
      () => (posts++, 'pass'),
    );
    const byCount = new Meterline({ apiKey: key, baseUrl: proxy.url, maxBatchEvents: 10, flushIntervalMs: 60_000 });
    for (let i = 0; i < 30; i++) byCount.track({ meter: 'orders' });
    await byCount.flush();
    expect(posts).toBe(3);

    posts = 0;
    const byBytes = new Meterline({ apiKey: key, baseUrl: proxy.url, maxBatchBytes: 2_000, flushIntervalMs: 60_000 });
    for (let i = 0; i < 20; i++) byBytes.track({ meter: 'orders', properties: { note: 'x'.repeat(300) } });
    await byBytes.flush();
    expect(posts).toBeGreaterThanOrEqual(4);

    posts = 0;
    const byTime = new Meterline({ apiKey: key, baseUrl: proxy.url, flushIntervalMs: 50 });
    byTime.track({ meter: 'orders' });
    await new Promise((r) => setTimeout(r, 500));
    expect(posts).toBe(1);
    expect(byTime.stats()).toMatchObject({ accepted: 1, pending: 0 });
    await proxy.close();
  });

  it('hands per-event rejections to the caller and keeps the good events', async () => {
    const rejections: Rejection[] = [];
    const client = new Meterline({ apiKey: key, baseUrl: stack.apiUrl, onRejected: (r) => rejections.push(...r) });
    client.track({ meter: 'orders' });
    const bad = client.track({ meter: 'no_such_meter' });
    await client.flush();
    expect(rejections).toEqual([
      expect.objectContaining({ code: 'UNKNOWN_METER', field: 'meter', event: expect.objectContaining({ id: bad }) }),
    ]);
    expect(client.stats()).toMatchObject({ accepted: 1, rejected: 1 });
  });

  it('reports what does not fit the bounded buffer, and can wait for room instead', async () => {
    const proxy = await startFaultProxy(
      () => stack.apiUrl,
      () => ({ delayMs: 300 }),
    );
    const drops: [number, DropReason][] = [];
    const client = new Meterline({
      apiKey: key,
      baseUrl: proxy.url,
      maxBufferedEvents: 10,
      maxBatchEvents: 10,
      onDropped: (e, reason) => drops.push([e.length, reason]),
    });
    for (let i = 0; i < 15; i++) client.track({ meter: 'orders' });
    expect(drops).toEqual(Array.from({ length: 5 }, () => [1, 'buffer-full']));
    await Promise.all(Array.from({ length: 15 }, () => client.enqueue({ meter: 'orders' })));
    await client.shutdown();
    expect(client.stats()).toMatchObject({ tracked: 30, accepted: 25, dropped: 5, pending: 0 });
    client.track({ meter: 'orders' });
    expect(drops.at(-1)).toEqual([1, 'closed']);
    await proxy.close();
  });

  it('gives up after its attempts and says so, never silently', async () => {
    const proxy = await startFaultProxy(
      () => stack.apiUrl,
      () => ({ status: 503 }),
    );
    const drops: [number, DropReason, string?][] = [];
    const client = new Meterline({
      apiKey: key,
      baseUrl: proxy.url,
      ...quick,
      maxAttempts: 3,
      onDropped: (e, reason, error) => drops.push([e.length, reason, error?.message]),
    });
    client.track({ meter: 'orders' });
    client.track({ meter: 'orders' });
    await client.flush();
    expect(drops).toEqual([[2, 'retries-exhausted', 'injected']]);
    expect(client.stats()).toMatchObject({ dropped: 2, requests: 3, retries: 2, pending: 0 });
    await proxy.close();
  });
});
