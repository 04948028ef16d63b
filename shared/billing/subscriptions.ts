import * as z from 'zod';
import { Dec } from '../kernel/decimal.js';
import { ClientError } from '../kernel/errors.js';
import { instantText } from '../kernel/instants.js';
import { numberField } from '../kernel/json-fields.js';
import { type Currency, decimalString } from '../kernel/money.js';
import type { Period } from '../kernel/periods.js';
import { addDays, addMonths, isTimeZone, localDate, startOfDate, startOfDay, UTC, type ZoneChange, zoneAt } from '../kernel/zones.js';
import { type Commitment, commitmentSchema } from './commitments.js';
import { type Interval, intervalMonths, planIdSchema } from './plans.js';
import { type PrepaidTerms, prepaidTermsSchema } from './prepaid.js';
import { type Thresholds, thresholdsSchema } from './thresholds.js';

/**
 * A tenant's subscription: which plan it is on, when, and how its time is cut into billing periods.
 *
 * - Periods are whole local days of the subscription's time zone (`timeZones`, UTC unless set; a day of 23
 *   or 25 hours across DST is one day). They start at local midnight of the anchor's date, every 1
 *   (monthly) or 12 (yearly) months, counted from the anchor itself so a short month never shifts the day:
 *   a Jan 31 anchor gives Jan 31, Feb 28 (29 in leap years), Mar 31, Apr 30...; a Feb 29 yearly anchor
 *   gives Feb 28 in common years and Feb 29 again in leap years.
 * - A time zone change takes effect at the end of the current period, so no period already cut (nor its
 *   invoice) moves. The period it opens runs from there to the new zone's midnight of the next anchor date:
 *   from Feb 15 00:00 UTC to Mar 15 00:00 in Sydney (Mar 14 13:00 UTC), then Sydney's months.
 * - A trial is its own period, [startedAt, trialEnd), priced at zero; periods anchor on its end.
 * - A plan change takes effect at an instant and is kept in `plans`; within a period each plan's base
 *   fee is prorated by time. Usage of the whole period is priced by the plan in force when the period
 *   ends, with that plan's full quotas (an upgrade gets the bigger quota for the whole period).
 * - Cancel at period end fixes `cancelAt` to the end of the current period; no period starts after it.
 * - `prepaid` puts the tenant on prepaid-only terms (./prepaid.ts); `commitment` is a minimum spend of its own,
 *   which replaces the plan's (./commitments.ts); so do `thresholds`, for progressive billing (./progressive.ts).
 *   They apply as they stand when a check or an invoice is made.
 * - `history` keeps every change, who asked for it and when; nothing is ever removed from it.
 */
export interface PlanChange {
  at: string;
  planId: string;
}

export type SubscriptionAction =
  | 'created'
  | 'plan_changed'
  | 'cancel_scheduled'
  | 'cancel_revoked'
  | 'tax_rate_changed'
  | 'prepaid_terms_changed'
  | 'commitment_changed'
  | 'thresholds_changed'
  | 'time_zone_changed';

export interface SubscriptionEvent {
  at: string;
  action: SubscriptionAction;
  planId?: string;
  effectiveAt?: string;
  taxRate?: string;
  cancelAt?: string;
  /** The terms, commitment or thresholds set; absent when they were removed. */
  prepaid?: PrepaidTerms;
  commitment?: Commitment;
  thresholds?: Thresholds;
  timeZone?: string;
}

export interface Subscription {
  tenantId: string;
  /** Every plan of a subscription shares its interval and currency. */
  interval: Interval;
  currency: Currency;
  startedAt: string;
  trialEnd?: string;
  /** Periods after the trial start on this day: trialEnd, or startedAt without a trial. */
  anchor: string;
  plans: PlanChange[];
  cancelAt?: string;
  /** Fraction of the subtotal charged as tax, "0" unless set. */
  taxRate: string;
  /** Prepaid-only terms: the tenant is stopped when its credits and overdraft are used up. */
  prepaid?: PrepaidTerms;
  /** A minimum spend per period for this tenant, in place of its plan's. */
  commitment?: Commitment;
  /** Progressive billing thresholds for this tenant, in place of its plan's. */
  thresholds?: Thresholds;
  /** The zones its periods are cut in and from when (kernel/zones.ts); absent means UTC. */
  timeZones?: ZoneChange[];
  history: SubscriptionEvent[];
  /** Optimistic concurrency: every write expects the version it read. */
  version: number;
}

export interface BillingPeriod extends Period {
  trial: boolean;
}

export const subscriptionRequestSchema = z.strictObject({
  planId: planIdSchema.optional(),
  /** When the subscription starts (created only); truncated to its local day. Default: today. */
  startAt: z.optional(instantText),
  /**
   * The IANA time zone its periods, days and invoice dates follow (`Australia/Sydney`, `Asia/Kolkata`). Default UTC.
   * A change takes effect at the end of the current period.
   */
  timeZone: z.string().refine(isTimeZone, 'must be an IANA time zone name such as "Europe/Paris" or "UTC"').optional(),
  trialDays: numberField(z.number().int().min(1).max(365)).optional(),
  /** When a plan change takes effect. Default: now. */
  effectiveAt: z.optional(instantText),
  cancelAtPeriodEnd: z.boolean().optional(),
  taxRate: decimalString.refine((v) => new Dec(v).lessThan(1), 'must be a fraction below 1, such as "0.2" for 20%').optional(),
  /** Prepaid-only terms with an allowed overdraft; null removes them. */
  prepaid: z.union([prepaidTermsSchema, z.null()]).optional(),
  /** The tenant's own minimum commitment, in place of its plan's; null removes it. */
  commitment: z.union([commitmentSchema, z.null()]).optional(),
  /** The tenant's own progressive billing thresholds, in place of its plan's; null removes them. */
  thresholds: thresholdsSchema.nullable().optional(),
});
export type SubscriptionRequest = z.infer<typeof subscriptionRequestSchema>;

const iso = (t: number) => new Date(t).toISOString();

export function newSubscription(o: {
  tenantId: string;
  planId: string;
  interval: Interval;
  currency: Currency;
  startAt: number;
  trialDays?: number;
  taxRate?: string;
  prepaid?: PrepaidTerms;
  commitment?: Commitment;
  thresholds?: Thresholds;
  timeZone?: string;
  now: number;
}): Subscription {
  const timeZone = o.timeZone ?? UTC;
  const startedAt = startOfDay(timeZone, o.startAt);
  const trialEnd = o.trialDays ? startOfDate(timeZone, addDays(localDate(timeZone, startedAt), o.trialDays)) : undefined;
  return {
    tenantId: o.tenantId,
    interval: o.interval,
    currency: o.currency,
    startedAt: iso(startedAt),
    ...(trialEnd ? { trialEnd: iso(trialEnd) } : {}),
    anchor: iso(trialEnd ?? startedAt),
    plans: [{ at: iso(startedAt), planId: o.planId }],
    taxRate: o.taxRate ?? '0',
    ...(o.prepaid ? { prepaid: o.prepaid } : {}),
    ...(o.commitment ? { commitment: o.commitment } : {}),
    ...(o.thresholds ? { thresholds: o.thresholds } : {}),
    ...(timeZone !== UTC ? { timeZones: [{ from: iso(0), timeZone }] } : {}),
    history: [
      {
        at: iso(o.now),
        action: 'created',
        planId: o.planId,
        effectiveAt: iso(startedAt),
        ...(o.taxRate ? { taxRate: o.taxRate } : {}),
        ...(o.prepaid ? { prepaid: o.prepaid } : {}),
        ...(o.commitment ? { commitment: o.commitment } : {}),
        ...(o.thresholds ? { thresholds: o.thresholds } : {}),
        ...(timeZone !== UTC ? { timeZone } : {}),
      },
    ],
    version: 0,
  };
}

/** The anchor moved `months` months on, its day clamped to the target month's length. */
export function shiftMonths(anchor: number, months: number): number {
  const d = new Date(anchor);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth() + months;
  const daysInTarget = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  return Date.UTC(y, m, Math.min(d.getUTCDate(), daysInTarget));
}

/**
 * The billing period holding `instant` (at or after the start of the subscription). The anchor's date is read in
 * the zone it was cut in; each period's ends are that date's local midnights in the zone in force (see above).
 */
export function periodAt(sub: Subscription, instant: number): BillingPeriod {
  const started = Date.parse(sub.startedAt);
  const anchor = Date.parse(sub.anchor);
  if (instant < started) throw new RangeError(`${iso(instant)} is before the subscription started`);
  if (instant < anchor) return { start: started, end: anchor, trial: true };
  const step = intervalMonths(sub.interval);
  const anchorDate = localDate(zoneAt(sub.timeZones, started).timeZone, anchor);
  const boundary = (timeZone: string, k: number) => startOfDate(timeZone, addMonths(anchorDate, k * step));
  const index = (timeZone: string, at: number) => {
    const d = localDate(timeZone, at);
    let k = Math.floor(((d.year - anchorDate.year) * 12 + d.month - anchorDate.month) / step);
    while (boundary(timeZone, k + 1) <= at) k++;
    while (boundary(timeZone, k) > at) k--;
    return k;
  };
  const zone = zoneAt(sub.timeZones, instant);
  const k = index(zone.timeZone, instant);
  const from = Date.parse(zone.from);
  if (from > anchor) {
    // The zone changed at `from`, the old zone's boundary j: the period it opens ends at the new zone's boundary j + 1.
    const j = index(zoneAt(sub.timeZones, from - 1).timeZone, from);
    if (k <= j) return { start: from, end: boundary(zone.timeZone, j + 1), trial: false };
  }
  return { start: boundary(zone.timeZone, k), end: boundary(zone.timeZone, k + 1), trial: false };
}

/** The zone `sub`'s days and periods follow at `instant`. */
export const timeZoneAt = (sub: Subscription | undefined, instant: number): string => zoneAt(sub?.timeZones, instant).timeZone;

export function planIdAt(sub: Subscription, instant: number): string {
  let current = sub.plans[0]!.planId;
  for (const change of sub.plans) if (Date.parse(change.at) <= instant) current = change.planId;
  return current;
}

/** The plan in force when `period` ends: it prices the period's usage. */
export const usagePlanId = (sub: Subscription, period: Period): string => planIdAt(sub, period.end - 1);

/** The stretches of `period` each plan was in force, in order. */
export function planSegments(sub: Subscription, period: Period): { planId: string; start: number; end: number }[] {
  const cuts = sub.plans.map((c) => Date.parse(c.at)).filter((t) => t > period.start && t < period.end);
  const bounds = [period.start, ...cuts, period.end];
  const segments: { planId: string; start: number; end: number }[] = [];
  for (let i = 0; i < bounds.length - 1; i++) {
    const planId = planIdAt(sub, bounds[i]!);
    const last = segments.at(-1);
    if (last && last.planId === planId) last.end = bounds[i + 1]!;
    else segments.push({ planId, start: bounds[i]!, end: bounds[i + 1]! });
  }
  return segments;
}

/**
 * The periods ready to invoice at `time`: from `after` (the end of the last invoiced period, or the
 * start of the subscription), every period whose grace window for late events has passed, up to the
 * cancellation.
 */
export function closablePeriods(sub: Subscription, after: number | undefined, time: number, graceMs: number): BillingPeriod[] {
  const out: BillingPeriod[] = [];
  const cancelAt = sub.cancelAt ? Date.parse(sub.cancelAt) : Infinity;
  let at = after ?? Date.parse(sub.startedAt);
  while (at < cancelAt) {
    const period = periodAt(sub, at);
    if (period.end + graceMs > time) break;
    out.push(period);
    at = period.end;
  }
  return out;
}

/** True once a cancellation has taken effect. */
export const hasEnded = (sub: Subscription, instant: number): boolean => sub.cancelAt !== undefined && instant >= Date.parse(sub.cancelAt);

/**
 * Applies an admin request to an existing subscription. `notBefore` is the end of the last invoiced
 * period: closed periods are never re-priced by a plan change.
 */
export function changeSubscription(
  sub: Subscription,
  req: SubscriptionRequest,
  o: { now: number; notBefore: number; plan?: { interval: Interval; currency: Currency } },
): Subscription {
  const next: Subscription = { ...sub, plans: [...sub.plans], history: [...sub.history] };
  const now = iso(o.now);
  if (req.startAt !== undefined || req.trialDays !== undefined) {
    throw new ClientError(
      'CONFLICT',
      'the subscription has started; startAt and trialDays only apply when it is created',
      req.startAt ? 'startAt' : 'trialDays',
    );
  }
  if (hasEnded(sub, o.now)) throw new ClientError('CONFLICT', `the subscription ended at ${sub.cancelAt}`);
  if (req.planId !== undefined && req.planId !== planIdAt(sub, req.effectiveAt ? Date.parse(req.effectiveAt) : o.now)) {
    if (o.plan && (o.plan.interval !== sub.interval || o.plan.currency !== sub.currency)) {
      throw new ClientError(
        'CONFLICT',
        `plan ${req.planId} bills in ${o.plan.currency} every ${o.plan.interval}, the subscription in ${sub.currency} every ${sub.interval}`,
        'planId',
      );
    }
    const at = req.effectiveAt ? Date.parse(req.effectiveAt) : o.now;
    const last = Date.parse(sub.plans.at(-1)!.at);
    if (at < o.notBefore || at < last) {
      throw new ClientError(
        'CONFLICT',
        `a plan change cannot take effect before ${iso(Math.max(o.notBefore, last))}: that time is already invoiced or changed`,
        'effectiveAt',
      );
    }
    if (sub.cancelAt && at >= Date.parse(sub.cancelAt))
      throw new ClientError('CONFLICT', `the subscription ends at ${sub.cancelAt}`, 'effectiveAt');
    next.plans.push({ at: iso(at), planId: req.planId });
    next.history.push({ at: now, action: 'plan_changed', planId: req.planId, effectiveAt: iso(at) });
  }
  if (req.cancelAtPeriodEnd === true && !sub.cancelAt) {
    next.cancelAt = iso(periodAt(sub, Math.max(o.now, Date.parse(sub.startedAt))).end);
    next.history.push({ at: now, action: 'cancel_scheduled', cancelAt: next.cancelAt });
  }
  if (req.cancelAtPeriodEnd === false && sub.cancelAt) {
    delete next.cancelAt;
    next.history.push({ at: now, action: 'cancel_revoked' });
  }
  if (req.taxRate !== undefined && !new Dec(req.taxRate).equals(sub.taxRate)) {
    next.taxRate = req.taxRate;
    next.history.push({ at: now, action: 'tax_rate_changed', taxRate: req.taxRate });
  }
  if (req.prepaid !== undefined && !sameTerms(req.prepaid, sub.prepaid)) {
    if (req.prepaid) next.prepaid = req.prepaid;
    else delete next.prepaid;
    next.history.push({ at: now, action: 'prepaid_terms_changed', ...(req.prepaid ? { prepaid: req.prepaid } : {}) });
  }
  if (req.timeZone !== undefined && req.timeZone !== timeZoneAt(sub, Number.POSITIVE_INFINITY)) {
    // From the end of the current period (or the start, for one not started yet); a second change before then replaces the first.
    const at = o.now < Date.parse(sub.startedAt) ? Date.parse(sub.startedAt) : periodAt(sub, o.now).end;
    next.timeZones = [
      ...(sub.timeZones ?? [{ from: iso(0), timeZone: UTC }]).filter((c) => Date.parse(c.from) < at),
      { from: iso(at), timeZone: req.timeZone },
    ];
    next.history.push({ at: now, action: 'time_zone_changed', timeZone: req.timeZone, effectiveAt: iso(at) });
  }
  if (req.commitment !== undefined && !sameTerms(req.commitment, sub.commitment)) {
    if (req.commitment) next.commitment = req.commitment;
    else delete next.commitment;
    next.history.push({ at: now, action: 'commitment_changed', ...(req.commitment ? { commitment: req.commitment } : {}) });
  }
  if (req.thresholds !== undefined && !sameTerms(req.thresholds, sub.thresholds)) {
    if (req.thresholds) next.thresholds = req.thresholds;
    else delete next.thresholds;
    next.history.push({ at: now, action: 'thresholds_changed', ...(req.thresholds ? { thresholds: req.thresholds } : {}) });
  }
  return next;
}

/** Whether two sets of terms say the same; their strings are all decimals, compared as numbers. */
function sameTerms(
  a: PrepaidTerms | Commitment | Thresholds | null | undefined,
  b: PrepaidTerms | Commitment | Thresholds | undefined,
): boolean {
  const key = (t: object | null | undefined) =>
    JSON.stringify(
      Object.entries(t ?? {})
        .map(([k, v]) => [k, typeof v === 'string' ? new Dec(v).toFixed() : v])
        .sort(),
    );
  return key(a) === key(b);
}
