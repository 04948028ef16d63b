import * as z from 'zod';
import { Dec } from '../kernel/decimal.js';
import { decimalString } from '../kernel/money.js';
import type { Period } from '../kernel/periods.js';
import { localMonth } from '../kernel/zones.js';
import type { Meter } from '../metering/meters.js';
import { BALANCE_EXHAUSTED, type CreditStanding, creditStandingSchema } from './prepaid.js';
import { hasEnded, periodAt, type Subscription, timeZoneAt } from './subscriptions.js';

/**
 * Hard quotas: a plan's metered feature (./entitlements.ts) or an admin's quota for one tenant caps
 * the tenant's use of a meter per billing period, and the product service asks before it acts (`GET /v1/quotas/{meter}?quantity=n`), the way entitlement checks work. Ingest
 * never refuses usage for being over quota: an event records something that already happened, and
 * dropping it would only under-bill. So the quota is enforced where the action is, and usage stays
 * exact.
 *
 * What is capped is the meter's value for the period as a person reads it: the total for SUM and
 * COUNT, the peak for MAX, the low for MIN, the mean for AVG, the distinct count for UNIQUE_COUNT, the current
 * level for LATEST (a storage cap is on GB held now, not on GB-months), and the integral so far for
 * TIME_WEIGHTED (a cap on GPU-minutes used this period).
 */
export const quotaDefinitionSchema = z.strictObject({ limit: decimalString });

export interface Quota {
  meter: string;
  /** Decimal string, in the meter's unit. */
  limit: string;
  updatedAt: string;
}

export interface QuotaReads {
  /** The meter's billable quantity over `period` up to `asOf` (shared/metering/period-usage.ts). */
  quantity(tenantId: string, meter: Meter, period: Period, asOf: number): Promise<string>;
  /** A gauge's level at `instant`: its newest reading (0 before any). */
  level(tenantId: string, meter: Meter, instant: number): Promise<string>;
}

/** The period quotas count in, and reset at the end of: the subscription's current billing period, else its zone's calendar month. */
export function quotaPeriod(sub: Subscription | undefined, now: number): Period {
  if (!sub || now < Date.parse(sub.startedAt) || hasEnded(sub, now)) return localMonth(timeZoneAt(sub, now), now);
  return periodAt(sub, now);
}

export function quotaUsage(reads: QuotaReads, tenantId: string, meter: Meter, period: Period, now: number): Promise<string> {
  return meter.aggregation === 'LATEST' ? reads.level(tenantId, meter, now) : reads.quantity(tenantId, meter, period, now);
}

/** Why a check says no: the quota is used up for the period, or a prepaid tenant's credits are (./prepaid.ts). */
export const refusalReasons = ['QUOTA_EXCEEDED', BALANCE_EXHAUSTED] as const;

export const quotaStatusSchema = z.object({
  meter: z.string(),
  /** A decimal string, or `unlimited` for a prepaid tenant's meter that only its balance caps. */
  limit: z.string(),
  usage: z.string(),
  remaining: z.string(),
  /** Whether `requested` more units still fit (usage + requested ≤ limit) and a prepaid tenant's balance is not used up. */
  allowed: z.boolean(),
  /** Set when `allowed` is false; BALANCE_EXHAUSTED wins when both hold, since waiting for the reset would not help. */
  reason: z.enum(refusalReasons).optional(),
  /** Where the limit comes from: the plan's metered feature, or an admin's quota for this tenant (which wins). */
  source: z.enum(['plan', 'override']).optional(),
  /** A prepaid tenant's standing, checked on every quota check. */
  prepaid: creditStandingSchema.optional(),
});
export type QuotaStatus = z.infer<typeof quotaStatusSchema>;

/** The answer of `GET /v1/quotas/{meter}`. */
export const quotaCheckSchema = quotaStatusSchema.extend({
  requested: z.string().optional(),
  period: z.object({ start: z.string(), end: z.string() }),
  asOf: z.string(),
});

/** `requested` is what the caller is about to use (0: is anything left at all, i.e. usage < limit). */
export function quotaStatus(quota: Quota & { source?: QuotaStatus['source'] }, usage: string, requested = '0'): QuotaStatus {
  const limit = new Dec(quota.limit);
  const used = new Dec(usage);
  const allowed = new Dec(requested).isZero() ? used.lessThan(limit) : used.plus(requested).lessThanOrEqualTo(limit);
  const source = quota.source ? { source: quota.source } : {};
  return {
    meter: quota.meter,
    limit: quota.limit,
    usage,
    remaining: Dec.max(limit.minus(used), 0).toFixed(),
    allowed,
    ...(allowed ? {} : { reason: 'QUOTA_EXCEEDED' as const }),
    ...source,
  };
}

/** A prepaid tenant's meter without a quota: only the balance caps it. */
export const uncapped = (meter: string, usage: string): QuotaStatus => ({
  meter,
  limit: 'unlimited',
  usage,
  remaining: 'unlimited',
  allowed: true,
});

/** A quota answer with a prepaid tenant's standing: refused with BALANCE_EXHAUSTED once nothing is available. */
export function withStanding(status: QuotaStatus, standing: CreditStanding): QuotaStatus {
  if (!standing.exhausted) return { ...status, prepaid: standing };
  return { ...status, allowed: false, reason: BALANCE_EXHAUSTED, prepaid: standing };
}
