import { type Entitlement, type Logger, type Meterline, MeterlineError, type QuotaStatus } from './client.js';
import { fromUnits, units } from './decimal.js';

/** What is known of a handled request when its usage event is made. */
export interface HandledRequest<Req> {
  request: Req;
  tenant: string;
  statusCode: number;
  /** The route template ("GET /v1/things/{id}", "GET /things/:id"), or "unmatched". */
  route: string;
  method: string;
  durationMs: number;
}

export interface MeteringOptions<Req> {
  client: Meterline;
  /** The tenant a request belongs to (from the product's own auth); `undefined` leaves the request unmetered. */
  tenant: (request: Req) => string | undefined | Promise<string | undefined>;
  /** The meter each handled request adds to. */
  meter: string;
  /** The event's value (absent for COUNT meters, which count events). */
  value?: (handled: HandledRequest<Req>) => number | string | undefined;
  /** The event's properties; by default `{ route, method, status }`. */
  properties?: (handled: HandledRequest<Req>) => Record<string, unknown> | undefined;
  subject?: (handled: HandledRequest<Req>) => string | undefined;
  /** Requests handled with these statuses are not metered; none by default. */
  skip?: (handled: HandledRequest<Req>) => boolean;
  /** Enforce the tenant's hard quota before the handler runs. */
  quota?: QuotaOptions<Req>;
  /** How `requireFeature` caches and times out its entitlement checks. */
  entitlements?: EntitlementOptions;
  /**
   * When Meterline cannot answer a quota or entitlement check (unreachable, 5xx, slow), let the request
   * through (`true`, the default: metering should not take the product down) or answer 503.
   */
  failOpen?: boolean;
  logger?: Logger;
}

export interface QuotaOptions<Req> {
  /** The meter whose quota is checked; the metered meter by default. */
  meter?: string;
  /** How much one request will use; 1 by default. */
  quantity?: (request: Req) => number | string;
  /** How long a quota answer is reused, counting this process's own requests on top. Default 5,000 ms. */
  cacheTtlMs?: number;
  /** How long a failed check is remembered before Meterline is asked again. Default 1,000 ms. */
  failureTtlMs?: number;
  /** A check slower than this counts as Meterline unreachable. Default 1,000 ms. */
  timeoutMs?: number;
}

export interface EntitlementOptions {
  /** How long an entitlement answer is reused. Default 5,000 ms. */
  cacheTtlMs?: number;
  /** How long a failed check is remembered before Meterline is asked again. Default 1,000 ms. */
  failureTtlMs?: number;
  /** A check slower than this counts as Meterline unreachable. Default 1,000 ms. */
  timeoutMs?: number;
}

/** An answer the middleware gives instead of running the handler. */
export interface Refusal {
  statusCode: 402 | 403 | 429 | 503;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

export interface MeteringStats {
  /** Usage events handed to the client. */
  metered: number;
  /** Requests answered 429 for being over quota. */
  refused: number;
  /** Requests answered 402 because a prepaid tenant's credits (and overdraft) are used up. */
  balanceRefused: number;
  /** Requests answered 403 for a feature the tenant's plan lacks. */
  featureRefused: number;
  /** Quota checks Meterline could not answer, by outcome. */
  failedOpen: number;
  failedClosed: number;
  quotaFetches: number;
  entitlementFetches: number;
}

type Check = { ok: true; status: QuotaStatus | null } | { ok: false; error: Error };
type FeatureCheck = { ok: true; entitlement: Entitlement } | { ok: false; error: Error };

/**
 * The framework-neutral core of the middleware: resolve the tenant, check the hard quota from a short-lived
 * cache, and after the handler hand one usage event to the client (which batches and retries it).
 */
export class Metering<Req> {
  private readonly quotas = new Map<string, { until: number; check: Promise<Check>; consumed: bigint }>();
  private readonly features = new Map<string, { until: number; check: Promise<FeatureCheck> }>();
  private readonly counters: MeteringStats = {
    metered: 0,
    refused: 0,
    balanceRefused: 0,
    featureRefused: 0,
    failedOpen: 0,
    failedClosed: 0,
    quotaFetches: 0,
    entitlementFetches: 0,
  };
  private readonly logger: Logger;
  private lastWarning = 0;

  constructor(private readonly o: MeteringOptions<Req>) {
    this.logger = o.logger ?? {
      warn: (m, d) => console.warn(`[meterline] ${m}`, d ?? ''),
      error: (m, d) => console.error(`[meterline] ${m}`, d ?? ''),
    };
  }

  stats(): MeteringStats {
    return { ...this.counters };
  }

  /** Before the handler: the request's tenant, and a refusal when it must not run. */
  async admit(request: Req): Promise<{ tenant?: string; refusal?: Refusal }> {
    const tenant = await this.o.tenant(request);
    if (tenant === undefined || !this.o.quota) return tenant === undefined ? {} : { tenant };
    const q = this.o.quota;
    const meter = q.meter ?? this.o.meter;
    const quantity = units(q.quantity ? q.quantity(request) : 1);
    const entry = this.cached(tenant, meter);
    const check = await entry.check;
    if (!check.ok)
      return this.unavailable(tenant, 'quota', check.error, 'QUOTA_UNAVAILABLE', 'the usage quota cannot be checked right now');
    if (!check.status) return { tenant };
    // The balance is priced by Meterline: the cached answer says whether any is left, until the next check.
    if (check.status.reason === 'BALANCE_EXHAUSTED' && check.status.prepaid) {
      this.counters.balanceRefused += 1;
      return { tenant, refusal: balanceRefusal(check.status.prepaid) };
    }
    if (check.status.limit === 'unlimited') return { tenant };
    const limit = units(check.status.limit);
    const used = units(check.status.usage) + entry.consumed;
    if (used + quantity <= limit) {
      entry.consumed += quantity;
      return { tenant };
    }
    this.counters.refused += 1;
    return { tenant, refusal: quotaRefusal(check.status, limit, used) };
  }

  /** A check that could not be made: the request passes (failOpen, the default) or is refused 503 with `code`. */
  private unavailable(tenant: string, what: string, error: Error, code: string, message: string): { tenant: string; refusal?: Refusal } {
    if (this.o.failOpen ?? true) {
      this.counters.failedOpen += 1;
      this.warn(`${what} check failed; letting the request through (failOpen)`, error);
      return { tenant };
    }
    this.counters.failedClosed += 1;
    this.warn(`${what} check failed; refusing the request (failOpen: false)`, error);
    return { tenant, refusal: { statusCode: 503, headers: { 'retry-after': '1' }, body: { code, message } } };
  }

  /**
   * Before a handler that needs `feature`: a 403 refusal (code FEATURE_NOT_INCLUDED) unless the tenant's
   * plan includes it now. A request without a tenant has no plan, so it is refused too.
   */
  async requireFeature(request: Req, feature: string): Promise<{ tenant?: string; refusal?: Refusal }> {
    const tenant = await this.o.tenant(request);
    if (tenant === undefined) return { refusal: featureRefusal(feature) };
    const check = await this.cachedFeature(tenant, feature);
    if (!check.ok)
      return this.unavailable(
        tenant,
        'entitlement',
        check.error,
        'ENTITLEMENT_UNAVAILABLE',
        `the ${feature} entitlement cannot be checked right now`,
      );
    if (check.entitlement.hasAccess) return { tenant };
    if (check.entitlement.reason === 'BALANCE_EXHAUSTED' && check.entitlement.prepaid) {
      this.counters.balanceRefused += 1;
      return { tenant, refusal: balanceRefusal(check.entitlement.prepaid) };
    }
    this.counters.featureRefused += 1;
    return { tenant, refusal: featureRefusal(feature, check.entitlement) };
  }

  /** After the handler: one usage event for the handled request. */
  record(handled: HandledRequest<Req>): void {
    if (this.o.skip?.(handled)) return;
    const value = this.o.value?.(handled);
    const properties = this.o.properties
      ? this.o.properties(handled)
      : { route: handled.route, method: handled.method, status: handled.statusCode };
    const subject = this.o.subject?.(handled);
    this.o.client.track({
      meter: this.o.meter,
      tenant: handled.tenant,
      ...(value !== undefined ? { value } : {}),
      ...(properties ? { properties } : {}),
      ...(subject ? { subject } : {}),
    });
    this.counters.metered += 1;
  }

  private cached(tenant: string, meter: string) {
    const key = `${tenant}\u0000${meter}`;
    const hit = this.quotas.get(key);
    if (hit && hit.until > Date.now()) return hit;
    const q = this.o.quota!;
    this.counters.quotaFetches += 1;
    const entry = { until: Number.POSITIVE_INFINITY, consumed: 0n, check: Promise.resolve<Check>({ ok: true, status: null }) };
    entry.check = this.o.client.quota(meter, { tenant, timeoutMs: q.timeoutMs ?? 1000 }).then(
      (status): Check => {
        entry.until = Date.now() + (q.cacheTtlMs ?? 5000);
        return { ok: true, status };
      },
      (error: Error): Check => {
        // No quota on this meter for this tenant: nothing to enforce.
        if (error instanceof MeterlineError && error.status === 404) {
          entry.until = Date.now() + (q.cacheTtlMs ?? 5000);
          return { ok: true, status: null };
        }
        entry.until = Date.now() + (q.failureTtlMs ?? 1000);
        return { ok: false, error };
      },
    );
    this.quotas.set(key, entry);
    return entry;
  }

  private cachedFeature(tenant: string, feature: string): Promise<FeatureCheck> {
    const key = `${tenant}\u0000${feature}`;
    const hit = this.features.get(key);
    if (hit && hit.until > Date.now()) return hit.check;
    const o = this.o.entitlements ?? {};
    this.counters.entitlementFetches += 1;
    const entry = { until: Number.POSITIVE_INFINITY, check: Promise.resolve<FeatureCheck>({ ok: false, error: new Error('pending') }) };
    entry.check = this.o.client.entitlement(feature, { tenant, timeoutMs: o.timeoutMs ?? 1000 }).then(
      (entitlement): FeatureCheck => {
        entry.until = Date.now() + (o.cacheTtlMs ?? 5000);
        return { ok: true, entitlement };
      },
      (error: Error): FeatureCheck => {
        entry.until = Date.now() + (o.failureTtlMs ?? 1000);
        return { ok: false, error };
      },
    );
    this.features.set(key, entry);
    return entry.check;
  }

  /** At most one warning a second, so an outage does not flood the product's logs; the counters count each. */
  private warn(message: string, error: Error): void {
    const now = Date.now();
    if (now - this.lastWarning < 1000) return;
    this.lastWarning = now;
    this.logger.warn(message, { error: error.message, failedOpen: this.counters.failedOpen, failedClosed: this.counters.failedClosed });
  }
}

function featureRefusal(feature: string, entitlement?: Entitlement): Refusal {
  const metered = entitlement?.kind === 'metered';
  return {
    statusCode: 403,
    headers: {},
    body: {
      code: 'FEATURE_NOT_INCLUDED',
      message: metered
        ? `the ${feature} allowance of ${entitlement.limit} for this period is used up; it resets at ${entitlement.resetsAt}`
        : `this plan does not include ${feature}`,
      feature,
      ...(metered ? { limit: entitlement.limit, usage: entitlement.usage, resetsAt: entitlement.resetsAt } : {}),
    },
  };
}

type Standing = NonNullable<QuotaStatus['prepaid']>;

/**
 * 402 Payment Required, not 429: waiting does not help a prepaid tenant whose credits are used up (HTTP
 * clients retry a 429 after its Retry-After), buying credits does. So there is no Retry-After.
 */
function balanceRefusal(standing: Standing): Refusal {
  return {
    statusCode: 402,
    headers: {
      'x-credit-balance': standing.balance,
      'x-credit-available': standing.available,
      'x-credit-currency': standing.currency,
    },
    body: {
      code: 'BALANCE_EXHAUSTED',
      message: `the prepaid credit balance is used up (${standing.available} ${standing.currency} available, overdraft included)`,
      ...standing,
    },
  };
}

function quotaRefusal(status: QuotaStatus, limit: bigint, used: bigint): Refusal {
  const remaining = used >= limit ? 0n : limit - used;
  const resetAt = status.period.end;
  const retryAfter = Math.max(1, Math.ceil((Date.parse(resetAt) - Date.now()) / 1000));
  return {
    statusCode: 429,
    headers: {
      'retry-after': String(retryAfter),
      'x-quota-limit': status.limit,
      'x-quota-remaining': fromUnits(remaining),
      'x-quota-reset': resetAt,
    },
    body: {
      code: 'QUOTA_EXCEEDED',
      message: `the ${status.meter} quota of ${status.limit} for this period is used up; it resets at ${resetAt}`,
      meter: status.meter,
      limit: status.limit,
      usage: fromUnits(used),
      remaining: fromUnits(remaining),
      resetAt,
    },
  };
}
