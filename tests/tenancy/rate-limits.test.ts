import { randomBytes } from 'node:crypto';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { httpDocuments } from '../../shared/platform/dynamo/http-documents.js';
import { DynamoRateLimitStore } from '../../shared/tenancy/adapters/rate-limit-store.js';
import type { RateLimitStore } from '../../shared/tenancy/ports.js';
import {
  bucketOf,
  createRateLimiter,
  DEFAULT_RATE_LIMITS,
  type RateLimitBucket,
  secondsToReset,
  subjectOf,
  type Take,
  WINDOW_SECONDS,
  windowStart,
} from '../../shared/tenancy/rate-limits.js';
import { emulatorEndpoints } from '../support/stack.js';

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

const request = (routeKey: string, lambda: Record<string, unknown>) => ({ routeKey, requestContext: { authorizer: { lambda } } });
const tenantRequest = (tenantId: string, routeKey = 'POST /v1/events') => request(routeKey, { role: 'tenant', keyId: 'k', tenantId });

/** The store's conditional update as a model: counts while the window is current and under the limit. */
function modelStore(limits: Record<string, number> = {}) {
  const items = new Map<string, { window: number; used: number }>();
  const calls: string[] = [];
  const store: RateLimitStore = {
    take: async (subject, bucket, window, defaultLimit): Promise<Take> => {
      calls.push(subject);
      const key = `${subject} ${bucket}`;
      const limit = limits[subject] ?? defaultLimit;
      const item = items.get(key);
      if (!item || item.window < window) {
        items.set(key, { window, used: 1 });
        return { allowed: true, used: 1, limit };
      }
      if (item.used >= limit) return { allowed: false, used: item.used, limit };
      item.used += 1;
      return { allowed: true, used: item.used, limit };
    },
    limits: async () => ({}),
    setLimits: async () => undefined,
  };
  return { store, calls };
}

describe('window arithmetic', () => {
  it('puts every instant in exactly one window and resets within it, for any clock and window length', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 42 }), fc.integer({ min: 1, max: 3_600 }), (now, w) => {
        const start = windowStart(now, w);
        expect(start % w).toBe(0);
        expect(start * 1000).toBeLessThanOrEqual(now);
        expect(now).toBeLessThan((start + w) * 1000);
        const reset = secondsToReset(now, w);
        expect(reset).toBeGreaterThanOrEqual(1);
        expect(reset).toBeLessThanOrEqual(w);
        // Retry-After never points before the window's end (the draft's rule), nor a whole second past it.
        expect(now + reset * 1000).toBeGreaterThanOrEqual((start + w) * 1000);
        expect(now + (reset - 1) * 1000).toBeLessThan((start + w) * 1000);
        // The next window starts where this one ends.
        expect(windowStart((start + w) * 1000, w)).toBe(start + w);
      }),
    );
  });
});

describe('which requests count', () => {
  it('counts tenant ingest and reads, never admin routes, writes or admin keys', () => {
    expect(bucketOf('POST /v1/events')).toBe('ingest');
    expect(bucketOf('POST /api/v1/events')).toBe('ingest');
    expect(bucketOf('GET /v1/usage')).toBe('read');
    expect(bucketOf('GET /v1/quotas/{meter}')).toBe('read');
    expect(bucketOf('POST /v1/admin/tenants/{tenantId}/events')).toBeUndefined();
    expect(bucketOf('GET /v1/admin/tenants')).toBeUndefined();
    expect(bucketOf('DELETE /v1/admin/tenants/{tenantId}/api-keys/{keyId}')).toBeUndefined();
    expect(bucketOf('PUT /v1/webhooks/{endpointId}')).toBeUndefined();
    expect(subjectOf(tenantRequest('acme'))).toBe('TENANT#acme');
    expect(subjectOf(request('POST /v1/events', { role: 'service', keyId: 'svc1' }))).toBe('SERVICEKEY#svc1');
    expect(subjectOf(request('GET /v1/admin/tenants', { role: 'admin', keyId: 'a' }))).toBeUndefined();
    expect(subjectOf(request('GET /v1/usage', { role: 'anonymous' }))).toBeUndefined();
  });
});

describe('the limiter', () => {
  it('admits exactly the limit per tenant and window, answers the rest 429 with their headers, and asks the store at most once per request', async () => {
    await fc.assert(
      fc.asyncProperty(
        // Requests as (tenant, milliseconds after the previous one), over a few windows.
        fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.integer({ min: 0, max: 400 })), { maxLength: 300 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 2 ** 40 }),
        async (requests, limitOfA, start) => {
          let clock = start;
          const { store, calls } = modelStore({ 'TENANT#a': limitOfA });
          const limiter = createRateLimiter({ store, now: () => clock, log: silent });
          const admitted = new Map<string, number>();
          const seen = new Map<string, number>();
          for (const [tenant, gap] of requests) {
            clock += gap;
            const before = calls.length;
            const verdict = (await limiter(tenantRequest(tenant)))!;
            expect(calls.length - before).toBeLessThanOrEqual(1);
            const key = `${tenant} ${windowStart(clock)}`;
            const limit = tenant === 'a' ? limitOfA : DEFAULT_RATE_LIMITS.ingest;
            seen.set(key, (seen.get(key) ?? 0) + 1);
            const reset = secondsToReset(clock);
            expect(verdict.headers['ratelimit-policy']).toBe(`"ingest";q=${limit};w=${WINDOW_SECONDS}`);
            if (verdict.refusal) {
              expect(verdict.refusal.status).toBe(429);
              expect(verdict.refusal.code).toBe('RATE_LIMITED');
              expect(verdict.headers['retry-after']).toBe(String(reset));
              expect(verdict.headers.ratelimit).toBe(`"ingest";r=0;t=${reset}`);
            } else {
              admitted.set(key, (admitted.get(key) ?? 0) + 1);
              expect(verdict.headers.ratelimit).toBe(`"ingest";r=${limit - admitted.get(key)!};t=${reset}`);
              expect(verdict.headers['retry-after']).toBeUndefined();
            }
          }
          for (const [key, count] of seen) {
            const limit = key.startsWith('a ') ? limitOfA : DEFAULT_RATE_LIMITS.ingest;
            expect(admitted.get(key) ?? 0).toBe(Math.min(count, limit));
          }
        },
      ),
    );
  });

  it('refuses a full window from memory: once an instance has filled the window, a flood costs the store nothing', async () => {
    let clock = 5_000_000;
    const { store, calls } = modelStore({ 'TENANT#a': 3 });
    const limiter = createRateLimiter({ store, now: () => clock, log: silent });
    const answers = [];
    for (let i = 0; i < 50; i++) answers.push(await limiter(tenantRequest('a')));
    expect(answers.filter((a) => !a?.refusal)).toHaveLength(3);
    expect(calls).toHaveLength(3);
    clock += WINDOW_SECONDS * 1000;
    expect((await limiter(tenantRequest('a')))?.refusal).toBeUndefined();
    expect(calls).toHaveLength(4);
  });

  it('lets admin routes, admin keys and writes through uncounted', async () => {
    const { store, calls } = modelStore();
    const limiter = createRateLimiter({ store, now: () => 0, log: silent });
    expect(await limiter(request('DELETE /v1/admin/tenants/{tenantId}/api-keys/{keyId}', { role: 'admin', keyId: 'x' }))).toBeUndefined();
    expect(await limiter(tenantRequest('a', 'POST /v1/admin/tenants/{tenantId}/events'))).toBeUndefined();
    expect(await limiter(tenantRequest('a', 'PUT /v1/alerts/{alertId}'))).toBeUndefined();
    expect(calls).toHaveLength(0);
  });

  it('passes a request uncounted when the store fails, so a DynamoDB fault never stops ingestion', async () => {
    const warnings: unknown[] = [];
    const failing: RateLimitStore = {
      take: async () => {
        throw Object.assign(new Error('boom'), { name: 'InternalServerError' });
      },
      limits: async () => ({}),
      setLimits: async () => undefined,
    };
    const limiter = createRateLimiter({ store: failing, now: () => 0, log: { ...silent, warn: (m) => warnings.push(m) } });
    expect(await limiter(tenantRequest('a'))).toBeUndefined();
    expect(warnings).toHaveLength(1);
  });
});

describe('the DynamoDB store', () => {
  const { dynamoEndpoint } = emulatorEndpoints();
  const client = new DynamoDBClient({
    region: 'us-east-1',
    endpoint: dynamoEndpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const db = httpDocuments({
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint,
  });
  const storeOf = async () => {
    const TableName = `rate-limits-${randomBytes(3).toString('hex')}`;
    await client.send(
      new CreateTableCommand({
        TableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
      }),
    );
    return new DynamoRateLimitStore(db, TableName);
  };
  const allowed = (takes: Take[]) => takes.filter((t) => t.allowed).length;
  const burst = (store: RateLimitStore, n: number, window: number, bucket: RateLimitBucket = 'ingest') =>
    Promise.all(Array.from({ length: n }, () => store.take('TENANT#t', bucket, window, 10)));

  it('admits exactly the limit from concurrent requests, starts each new window once, and keeps buckets apart', async () => {
    const store = await storeOf();
    const first = await burst(store, 25, 1_000);
    expect(allowed(first)).toBe(10);
    expect(first.filter((t) => !t.allowed).every((t) => t.used === 10 && t.limit === 10)).toBe(true);
    expect(allowed(await burst(store, 25, 1_001))).toBe(10);
    expect(allowed(await burst(store, 4, 1_001, 'read'))).toBe(4);
    // A request stamped with a window already over (a clock behind) counts in the current one.
    expect((await store.take('TENANT#t', 'read', 1_000, 10)).used).toBe(5);
  });

  it("takes an admin's limit from the next request on, and goes back to the default when it is cleared", async () => {
    const store = await storeOf();
    await store.setLimits('TENANT#t', { ingest: 3 });
    expect(await store.limits('TENANT#t')).toEqual({ ingest: 3 });
    expect(allowed(await burst(store, 8, 2_000))).toBe(3);
    await store.setLimits('TENANT#t', { ingest: 5 });
    // The same window: two more fit under the raised limit.
    expect(allowed(await burst(store, 8, 2_000))).toBe(2);
    await store.setLimits('TENANT#t', { ingest: null });
    expect(await store.limits('TENANT#t')).toEqual({});
    expect(allowed(await burst(store, 12, 2_001))).toBe(10);
  });
});
