import { ClientError } from '../kernel/errors.js';
import type { Log } from '../kernel/log.js';
import { type AuthorizedRequest, routeKind } from './access.js';
import type { RateLimitStore } from './ports.js';

/**
 * Per-tenant rate limits: a fixed window of WINDOW_SECONDS per tenant and bucket, counted in DynamoDB by one
 * conditional update per request (never per event), so every Lambda instance shares one count per tenant.
 * docs/limits.md says why this design, the defaults, the headers and what it costs.
 *
 * | bucket   | routes                                        | default (requests per second) |
 * |----------|-----------------------------------------------|-------------------------------|
 * | `ingest` | POST /v1/events, POST /api/v1/events          | 100                           |
 * | `read`   | the tenant's GET routes and the quota check   | 200                           |
 *
 * Admin routes, writes and sessions are not counted: an operator revoking a flooding key must never queue behind it.
 */
export const RATE_LIMIT_BUCKETS = ['ingest', 'read'] as const;
export type RateLimitBucket = (typeof RATE_LIMIT_BUCKETS)[number];

export const WINDOW_SECONDS = 1;
export const DEFAULT_RATE_LIMITS: Readonly<Record<RateLimitBucket, number>> = { ingest: 100, read: 200 };
/**
 * The highest limit an admin may set: one counter item takes at most 1,000 writes a second (DynamoDB's per-partition
 * limit), and a full window still sees a few writes from instances that have not yet learnt it is full.
 */
export const MAX_RATE_LIMIT = 500;

/** A tenant's limits as the admin API shows them: each bucket's limit and whether it is the default. */
export function effectiveRateLimits(set: Partial<Record<RateLimitBucket, number>>) {
  return Object.fromEntries(
    RATE_LIMIT_BUCKETS.map((b) => [
      b,
      { limit: set[b] ?? DEFAULT_RATE_LIMITS[b], windowSeconds: WINDOW_SECONDS, source: set[b] === undefined ? 'default' : 'admin' },
    ]),
  ) as Record<RateLimitBucket, { limit: number; windowSeconds: number; source: 'default' | 'admin' }>;
}

/** The bucket a route's requests count against, from its kind (access.ts); undefined when it is not limited. */
export function bucketOf(routeKey: string): RateLimitBucket | undefined {
  const kind = routeKind(routeKey);
  if (kind === 'ingest') return 'ingest';
  return kind === 'read' || kind === 'quota-check' ? 'read' : undefined;
}

/**
 * Whose count a request takes: a tenant key's or session's tenant; a service key (it acts for many tenants) is a
 * subject of its own. Admin keys and requests without a caller are never counted.
 */
export function subjectOf(event: AuthorizedRequest): string | undefined {
  const ctx = event.requestContext?.authorizer?.lambda;
  if (ctx?.role === 'tenant' && typeof ctx.tenantId === 'string') return tenantSubject(ctx.tenantId);
  if (ctx?.role === 'service' && typeof ctx.keyId === 'string') return serviceKeySubject(ctx.keyId);
  return undefined;
}

export const tenantSubject = (tenantId: string) => `TENANT#${tenantId}`;
export const serviceKeySubject = (keyId: string) => `SERVICEKEY#${keyId}`;

/** The window `nowMs` falls in, as its start in epoch seconds (a multiple of the window's length). */
export function windowStart(nowMs: number, windowSeconds = WINDOW_SECONDS): number {
  return Math.floor(nowMs / 1000 / windowSeconds) * windowSeconds;
}

/** Whole seconds until the window of `nowMs` ends, rounded up: 1 to windowSeconds (`t` of the RateLimit field, Retry-After). */
export function secondsToReset(nowMs: number, windowSeconds = WINDOW_SECONDS): number {
  const endMs = (windowStart(nowMs, windowSeconds) + windowSeconds) * 1000;
  return Math.ceil((endMs - nowMs) / 1000);
}

/** What the store answered for one request: whether it was counted, the window's count with it, and the limit. */
export interface Take {
  allowed: boolean;
  used: number;
  limit: number;
}

/**
 * The RateLimit-Policy and RateLimit fields (draft-ietf-httpapi-ratelimit-headers, structured fields: a policy named
 * by a string, `q` quota, `w` window, `r` remaining, `t` seconds to reset), and Retry-After on a refusal.
 */
export function rateLimitHeaders(bucket: RateLimitBucket, take: Take, nowMs: number, windowSeconds = WINDOW_SECONDS) {
  const reset = secondsToReset(nowMs, windowSeconds);
  const remaining = Math.max(0, take.limit - take.used);
  return {
    'ratelimit-policy': `"${bucket}";q=${take.limit};w=${windowSeconds}`,
    ratelimit: `"${bucket}";r=${remaining};t=${reset}`,
    ...(take.allowed ? {} : { 'retry-after': String(reset) }),
  };
}

export interface RateLimitVerdict {
  headers: Record<string, string>;
  /** Present when the request is refused: 429 RATE_LIMITED. */
  refusal?: ClientError;
}

export interface RateLimiterDependencies {
  store: RateLimitStore;
  /** Epoch milliseconds. */
  now(): number;
  log: Log;
}

/**
 * Checks a request against its subject's limit. Each instance remembers which subjects filled the current window,
 * so a flood's refusals cost no DynamoDB call once the instance has seen the window full; everything else is one
 * conditional update. When the store fails for another reason than throttling, the request passes uncounted:
 * a DynamoDB fault must not stop ingestion (a throttled counter is itself a flood, and refuses).
 */
export function createRateLimiter({ store, now, log }: RateLimiterDependencies) {
  const full = new Map<string, { window: number; limit: number }>();
  return async (event: AuthorizedRequest): Promise<RateLimitVerdict | undefined> => {
    const bucket = bucketOf(event.routeKey ?? '');
    const subject = subjectOf(event);
    if (!bucket || !subject) return undefined;
    const at = now();
    const window = windowStart(at);
    const key = `${subject} ${bucket}`;
    const known = full.get(key);
    let take: Take;
    if (known?.window === window) {
      take = { allowed: false, used: known.limit, limit: known.limit };
    } else {
      const answer = await store.take(subject, bucket, window, DEFAULT_RATE_LIMITS[bucket]).catch((error: unknown) => {
        log.warn('rate limit not checked; the request passes uncounted', { error, subject, bucket });
        return undefined;
      });
      if (!answer) return undefined;
      take = answer;
      if (take.used >= take.limit) {
        // Forget windows that are over, so the map holds only subjects full right now.
        for (const [k, v] of full) if (v.window !== window) full.delete(k);
        full.set(key, { window, limit: take.limit });
      }
    }
    const headers = rateLimitHeaders(bucket, take, at);
    if (take.allowed) return { headers };
    const refusal = new ClientError(
      'RATE_LIMITED',
      `more than ${take.limit} ${bucket} requests in ${WINDOW_SECONDS} s for this ${subject.startsWith('TENANT#') ? 'tenant' : 'service key'}; retry after ${headers['retry-after']} s`,
    );
    return { headers, refusal };
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;
