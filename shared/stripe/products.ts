import { createHash } from 'node:crypto';
import type { Interval, Plan, Price, Tier } from '../billing/plans.js';
import { hasEnded, periodAt, planIdAt, type Subscription, timeZoneAt } from '../billing/subscriptions.js';
import { Dec } from '../kernel/decimal.js';
import { minorPerMajor } from '../kernel/money.js';
import { localDate, startOfDate } from '../kernel/zones.js';
import type { Meter } from '../metering/meters.js';
import { meterReporting } from './meter-reporting.js';

/**
 * Meterline plans as Stripe prices, and a Meterline subscription as a Stripe subscription, as pure
 * specs: the Stripe adapter (shared/stripe/adapters/product-sync.ts) only executes them.
 *
 * Amounts: Stripe takes minor units (cents) with at most 12 decimals, per unit of the Stripe meter,
 * which counts in scaled units (shared/stripe/meter-reporting.ts: ×1, ×1000, ×1,000,000). A unit price becomes
 * `price × 10^minor ÷ scale`: $1.00 per GB-month on the ×1,000,000 gauge meter is 0.0001 cents per
 * micro-GB-month. A plan that cannot be written exactly this way (more than 12 decimals, a tier bound
 * or package size that is not a whole number of scaled units) is refused, never approximated:
 * an approximation would drift from Meterline's invoice and only show up in reconciliation.
 *
 * `rounding` states how Stripe's amount for a period compares with Meterline's line, for the same
 * scaled quantity (SUM and MAX quantities with more than 3 decimals are already rounded by scaling):
 * - `same`: Stripe computes the same exact amount and rounds it once to the minor unit, as Meterline
 *   does; the only possible difference is an amount ending in exactly half a minor unit, where
 *   Meterline rounds half up and Stripe does not document its tie rule.
 * - `per-tier`: graduated tiers. Stripe itemizes each tier and may round each tier's amount on its
 *   own; Meterline rounds their sum once, so they can differ by up to one cent per tier used beyond
 *   the first when tier amounts have sub-cent parts.
 */
export type StripeRounding = 'same' | 'per-tier';

export interface StripeTierSpec {
  /** Inclusive, in scaled units; `inf` for the last tier. */
  upTo: string | 'inf';
  unitAmountDecimal: string;
  flatAmountDecimal: string;
}

export interface StripePriceSpec {
  /** `meterline:<planId>:<base | meter event name>:<content hash>`: a changed price gets a new key. */
  lookupKey: string;
  nickname: string;
  /** Stripe's lowercase ISO code. */
  currency: string;
  interval: Interval;
  /** Metered prices: the Meterline meter and the Stripe meter's event name. Absent: the base fee (licensed, quantity 1). */
  meter?: { key: string; eventName: string };
  /** Per-unit prices, in minor units per scaled unit (per package with `transformQuantity`). */
  unitAmountDecimal?: string;
  transformQuantity?: { divideBy: string; round: 'up' | 'down' };
  tiersMode?: 'graduated' | 'volume';
  tiers?: StripeTierSpec[];
  rounding: StripeRounding;
}

export class PriceNotRepresentable extends Error {
  readonly code = 'PRICE_NOT_REPRESENTABLE';
  constructor(message: string) {
    super(message);
    this.name = 'PriceNotRepresentable';
  }
}

/** Stripe's limit on `unit_amount_decimal` and `flat_amount_decimal`. */
const MAX_DECIMALS = 12;

type PlanMeter = Pick<Meter, 'key' | 'name' | 'aggregation'>;

/**
 * The plan's prices: the base fee, then one metered price per meter the plan prices and the tenant
 * has (a meter the tenant lacks has no usage and no Stripe meter). Meters sorted by key.
 */
export function planPriceSpecs(plan: Plan, meters: readonly PlanMeter[]): StripePriceSpec[] {
  const minor = new Dec(minorPerMajor(plan.currency));
  const amount = (what: string, value: Dec) => {
    if (value.decimalPlaces() > MAX_DECIMALS)
      throw new PriceNotRepresentable(
        `plan ${plan.id}: ${what} is ${value.toFixed()} minor units, more than Stripe's ${MAX_DECIMALS} decimals`,
      );
    return value.toFixed();
  };
  const whole = (what: string, value: Dec) => {
    if (!value.isInteger() || value.lessThan(1))
      throw new PriceNotRepresentable(`plan ${plan.id}: ${what} is ${value.toFixed()} scaled units, not a whole number Stripe can take`);
    return value.toFixed();
  };
  const base = withKey(plan, {
    nickname: `${plan.name} base fee`,
    currency: plan.currency.toLowerCase(),
    interval: plan.interval,
    unitAmountDecimal: amount('the base fee', new Dec(plan.baseFee).times(minor)),
    rounding: 'same',
  });
  const metered = [...meters]
    .filter((m) => plan.prices[m.key])
    .sort((a, b) => a.key.localeCompare(b.key))
    .map((m) => {
      const { eventName, scale } = meterReporting(m);
      const perUnit = (what: string, price: string) => amount(`${m.key} ${what}`, new Dec(price).times(minor).div(scale));
      const scaled = (what: string, quantity: string) => whole(`${m.key} ${what}`, new Dec(quantity).times(scale));
      const tiers = (list: readonly Tier[]) =>
        list.map((t) => ({
          upTo: t.upTo === null ? 'inf' : scaled('tier bound', t.upTo),
          unitAmountDecimal: perUnit('tier price', t.unitPrice),
          flatAmountDecimal: amount(`${m.key} flat fee`, new Dec(t.flatFee).times(minor)),
        }));
      return withKey(plan, {
        nickname: `${plan.name}: ${m.name}`,
        currency: plan.currency.toLowerCase(),
        interval: plan.interval,
        meter: { key: m.key, eventName },
        ...pricing(plan.prices[m.key]!, { perUnit, scaled, tiers, minor }),
      });
    });
  return [base, ...metered];
}

interface Units {
  perUnit(what: string, price: string): string;
  scaled(what: string, quantity: string): string;
  tiers(list: readonly Tier[]): StripeTierSpec[];
  minor: Dec;
}

type Pricing = Pick<StripePriceSpec, 'unitAmountDecimal' | 'transformQuantity' | 'tiersMode' | 'tiers' | 'rounding'>;

function pricing(price: Price, u: Units): Pricing {
  switch (price.model) {
    case 'free':
      return { unitAmountDecimal: '0', rounding: 'same' };
    case 'perUnit':
      return { unitAmountDecimal: u.perUnit('unit price', price.unitPrice), rounding: 'same' };
    case 'package':
      // Whole packages: Stripe divides the scaled quantity and rounds up, as Meterline does. Prorated:
      // the exact fraction of a package is a per-unit price of packagePrice ÷ packageSize.
      return price.rounding === 'up'
        ? {
            unitAmountDecimal: new Dec(price.packagePrice).times(u.minor).toFixed(),
            transformQuantity: { divideBy: u.scaled('package size', price.packageSize), round: 'up' },
            rounding: 'same',
          }
        : {
            unitAmountDecimal: u.perUnit('prorated package price', new Dec(price.packagePrice).div(price.packageSize).toFixed()),
            rounding: 'same',
          };
    case 'graduated':
      return { tiersMode: 'graduated', tiers: u.tiers(price.tiers), rounding: 'per-tier' };
    case 'volume':
      return { tiersMode: 'volume', tiers: u.tiers(price.tiers), rounding: 'same' };
    case 'quota':
      if (price.included === 'unlimited' || new Dec(price.unitPrice).isZero()) return { unitAmountDecimal: '0', rounding: 'same' };
      if (new Dec(price.included).isZero()) return { unitAmountDecimal: u.perUnit('unit price', price.unitPrice), rounding: 'same' };
      // A free first tier up to the quota: only the overage tier has an amount, so there is one rounding.
      return {
        tiersMode: 'graduated',
        tiers: u.tiers([
          { upTo: price.included, unitPrice: '0', flatFee: '0' },
          { upTo: null, unitPrice: price.unitPrice, flatFee: '0' },
        ]),
        rounding: 'same',
      };
  }
}

/** The lookup key names the plan and the meter and hashes everything Stripe bills by, so it is deterministic and versioned. */
function withKey(plan: Plan, spec: Omit<StripePriceSpec, 'lookupKey'>): StripePriceSpec {
  const { nickname: _nickname, rounding: _rounding, ...billed } = spec;
  const hash = createHash('sha256').update(JSON.stringify(billed)).digest('hex').slice(0, 12);
  return { lookupKey: `meterline:${plan.id}:${spec.meter?.eventName ?? 'base'}:${hash}`, ...spec };
}

export interface StripeSubscriptionSpec {
  tenantId: string;
  /** The Meterline subscription's start: it names the Stripe subscription's creation. */
  startedAt: string;
  planId: string;
  /** The plan's price lookup keys: the base fee (quantity 1) first, then the metered prices. */
  lookupKeys: string[];
  /** Seconds. The current Meterline period's start: Stripe bills the period from there. */
  backdateStartDate: number;
  /**
   * Meterline's anchor as Stripe's `billing_cycle_anchor_config`: the UTC day and time of the anchor date's
   * local midnight in the subscription's zone now (00:00 UTC for UTC; the month only for yearly plans). A day,
   * not a timestamp: Stripe keeps a 31st anchor at the end of shorter months and returns to the 31st, as
   * Meterline does, whereas a timestamp anchor on Feb 28 would move the cycle to the 28th. Stripe keeps one UTC
   * time all year, so across DST its boundary sits an hour off Meterline's local midnight (the daily report's
   * mid-day stamps fall in the same period on both sides). Absent during a trial, whose end anchors Stripe's
   * cycle as it anchors Meterline's.
   */
  anchorConfig?: { dayOfMonth: number; month?: number; hour?: number; minute?: number };
  /** Seconds: Meterline's trial end, while the trial runs. */
  trialEnd?: number;
  /** Meterline's cancellation always falls at a period end. */
  cancelAtPeriodEnd: boolean;
}

/** The plan the Stripe subscription is on at `now`: none before the subscription starts and after its cancellation took effect. */
export const mirroredPlanId = (sub: Subscription, now: number): string | undefined =>
  now < Date.parse(sub.startedAt) || hasEnded(sub, now) ? undefined : planIdAt(sub, now);

/**
 * What the tenant's Stripe subscription should be at `now`: the plan in force, on Meterline's period
 * cycle (both clamp a 29th-31st anchor to the end of shorter months), with its trial and cancellation.
 * `prices` are the specs of that plan (`planPriceSpecs`). Undefined when there is no plan to mirror.
 */
export function subscriptionSpec(sub: Subscription, prices: readonly StripePriceSpec[], now: number): StripeSubscriptionSpec | undefined {
  const planId = mirroredPlanId(sub, now);
  if (planId === undefined) return undefined;
  const period = periodAt(sub, now);
  const seconds = (t: number) => Math.floor(t / 1000);
  return {
    tenantId: sub.tenantId,
    startedAt: sub.startedAt,
    planId,
    lookupKeys: prices.map((p) => p.lookupKey),
    backdateStartDate: seconds(period.start),
    ...(period.trial ? { trialEnd: seconds(period.end) } : { anchorConfig: anchorConfig(sub, now) }),
    cancelAtPeriodEnd: sub.cancelAt !== undefined,
  };
}

function anchorConfig(sub: Subscription, now: number): NonNullable<StripeSubscriptionSpec['anchorConfig']> {
  const date = localDate(timeZoneAt(sub, Date.parse(sub.startedAt)), Date.parse(sub.anchor));
  const midnight = new Date(startOfDate(timeZoneAt(sub, now), date));
  // East of UTC, the 1st's midnight is the previous month's last day in UTC: Stripe's 31st, clamped as months need.
  const dayOfMonth = midnight.getUTCMonth() + 1 === date.month ? midnight.getUTCDate() : 31;
  const [hour, minute] = [midnight.getUTCHours(), midnight.getUTCMinutes()];
  return {
    dayOfMonth,
    ...(sub.interval === 'year' ? { month: midnight.getUTCMonth() + 1 } : {}),
    ...(hour || minute ? { hour, minute } : {}),
  };
}

/** What the `stripe` table keeps of a tenant's Stripe subscription, to see what changed since. */
export interface SubscriptionLink {
  subscriptionId: string;
  /** The Meterline subscription it mirrors. */
  startedAt: string;
  planId: string;
  /** Stripe subscription item per price lookup key. */
  items: Record<string, string>;
  cancelAtPeriodEnd: boolean;
  /** Bumped by every change: names the change's Idempotency-Key and guards the write. */
  version: number;
}
