import * as z from 'zod';
import { Dec } from '../kernel/decimal.js';
import { type Currency, roundMoney, subtractMoney, sumMoney } from '../kernel/money.js';
import type { Period } from '../kernel/periods.js';
import { type Plan, type Price, priceSchema, type Tier } from './plans.js';

/**
 * Turns a period's usage into invoice lines. Pure and deterministic: the same plan and quantities
 * always give the same lines in the same order (meters sorted by key), whatever order a plan's prices
 * came back from storage in. Every amount is computed exactly and rounded once, per line.
 */

/** How much of a quantity fell in one tier, and what it cost before rounding. */
export const tierUseSchema = z.object({
  upTo: z.string().nullable(),
  quantity: z.string(),
  unitPrice: z.string(),
  flatFee: z.string(),
  amount: z.string(),
});
export type TierUse = z.infer<typeof tierUseSchema>;

export interface Charge {
  /** The quantity that costs money: above the quota for `quota`, all of it otherwise. */
  billable: Dec;
  included?: string;
  tiers?: TierUse[];
  /** Exact, unrounded. */
  amount: Dec;
}

/**
 * `credit`: prepaid credits applied (./credits.ts); `commitment`: the true-up to a minimum spend (./commitments.ts);
 * `progressive`: what an earlier invoice of the period already billed, taken off (./progressive.ts).
 */
export const lineKinds = ['base', 'usage', 'adjustment', 'credit', 'commitment', 'progressive'] as const;
export type LineKind = (typeof lineKinds)[number];

export const invoiceLineSchema = z.object({
  kind: z.enum(lineKinds),
  description: z.string(),
  /** Fixed-point in the currency's minor unit; the line's one rounding. */
  amount: z.string(),
  meter: z.string().optional(),
  unit: z.string().optional(),
  /** Usage: the period's quantity. Base: the fraction of the period the plan was in force. */
  quantity: z.string(),
  included: z.string().optional(),
  billable: z.string().optional(),
  /** The price model applied, as it was when the line was priced. */
  price: priceSchema.optional(),
  tiers: z.array(tierUseSchema).optional(),
  planId: z.string().optional(),
  /** Base lines of a plan's later version (./plan-versions.ts): which one. */
  planVersion: z.int().optional(),
  /** Credit lines: the grant burned. */
  grantId: z.string().optional(),
  /** Progressive lines: the earlier invoice of the period whose subtotal they take off. */
  invoiceId: z.string().optional(),
  /** Base lines and adjustments: the stretch of time they charge for (ISO 8601). */
  from: z.string().optional(),
  to: z.string().optional(),
});
export type InvoiceLine = z.infer<typeof invoiceLineSchema>;

const ZERO = new Dec(0);

/** Prices `quantity` (≥ 0) under one model. Zero usage costs nothing under every model, flat fees included. */
export function charge(price: Price, quantity: Dec): Charge {
  if (quantity.isNegative()) throw new RangeError('a quantity cannot be negative');
  switch (price.model) {
    case 'free':
      return { billable: quantity, amount: ZERO };
    case 'perUnit':
      return { billable: quantity, amount: quantity.times(price.unitPrice) };
    case 'package': {
      const packages = price.rounding === 'up' ? quantity.div(price.packageSize).ceil() : quantity.div(price.packageSize);
      // Multiply before dividing where the division is exact-or-not, so `prorated` keeps every digit it can.
      const amount =
        price.rounding === 'up' ? packages.times(price.packagePrice) : quantity.times(price.packagePrice).div(price.packageSize);
      return { billable: quantity, amount };
    }
    case 'quota': {
      if (price.included === 'unlimited') return { billable: ZERO, included: 'unlimited', amount: ZERO };
      const billable = Dec.max(ZERO, quantity.minus(price.included));
      return { billable, included: price.included, amount: billable.times(price.unitPrice) };
    }
    case 'graduated': {
      const tiers: TierUse[] = [];
      let lower = ZERO;
      for (const tier of price.tiers) {
        const upper = tier.upTo === null ? undefined : new Dec(tier.upTo);
        const inTier = Dec.max(ZERO, (upper ? Dec.min(quantity, upper) : quantity).minus(lower));
        if (inTier.greaterThan(0)) tiers.push(tierUse(tier, inTier));
        if (!upper || quantity.lessThanOrEqualTo(upper)) break;
        lower = upper;
      }
      return { billable: quantity, tiers, amount: tiers.reduce((sum, t) => sum.plus(t.amount), ZERO) };
    }
    case 'volume': {
      if (quantity.isZero()) return { billable: quantity, tiers: [], amount: ZERO };
      const tier = price.tiers.find((t) => t.upTo === null || quantity.lessThanOrEqualTo(t.upTo))!;
      const use = tierUse(tier, quantity);
      return { billable: quantity, tiers: [use], amount: new Dec(use.amount) };
    }
  }
}

function tierUse(tier: Tier, quantity: Dec): TierUse {
  return {
    upTo: tier.upTo,
    quantity: quantity.toFixed(),
    unitPrice: tier.unitPrice,
    flatFee: tier.flatFee,
    amount: quantity.times(tier.unitPrice).plus(tier.flatFee).toFixed(),
  };
}

/** What the pricing needs to know about a meter to describe it on a line. */
export interface MeterLabel {
  name: string;
  unit: string;
}

/** One line per meter the plan prices, sorted by meter key; meters without usage show quantity 0. */
export function usageLines(
  plan: Plan,
  quantities: Readonly<Record<string, string>>,
  labels: Readonly<Record<string, MeterLabel>>,
  trial = false,
): InvoiceLine[] {
  return Object.keys(plan.prices)
    .sort()
    .map((meter) => usageLine(plan, meter, quantities[meter] ?? '0', labels[meter] ?? { name: meter, unit: 'unit' }, trial));
}

export function usageLine(plan: Plan, meter: string, quantity: string, label: MeterLabel, trial = false): InvoiceLine {
  // A trial prices nothing; its lines still show what was used.
  const price: Price = trial ? { model: 'free' } : (plan.prices[meter] ?? { model: 'free' });
  const c = charge(price, new Dec(quantity));
  return {
    kind: 'usage',
    description: trial ? `${label.name} (trial)` : label.name,
    meter,
    unit: label.unit,
    quantity: new Dec(quantity).toFixed(),
    ...(c.included !== undefined ? { included: c.included } : {}),
    billable: c.billable.toFixed(),
    price,
    ...(c.tiers ? { tiers: c.tiers } : {}),
    amount: roundMoney(c.amount, plan.currency),
  };
}

/** The stretch of a period one plan was in force. */
export interface PlanSegment {
  plan: Plan;
  start: number;
  end: number;
}

/**
 * One base-fee line per plan segment: the plan's fee × (segment length ÷ period length), both measured
 * in milliseconds, so a plan held for half of February's seconds pays half its fee.
 */
export function baseFeeLines(segments: readonly PlanSegment[], period: Period, trial = false): InvoiceLine[] {
  const length = new Dec(period.end - period.start);
  return segments.map(({ plan, start, end }) => {
    const whole = start === period.start && end === period.end;
    const fraction = new Dec(end - start).div(length);
    const description = trial
      ? `${plan.name} base fee (trial, waived)`
      : whole
        ? `${plan.name} base fee`
        : `${plan.name} base fee, prorated`;
    return {
      kind: 'base',
      description,
      planId: plan.id,
      ...(plan.version ? { planVersion: plan.version } : {}),
      quantity: whole ? '1' : fraction.toSignificantDigits(12).toFixed(),
      from: new Date(start).toISOString(),
      to: new Date(end).toISOString(),
      amount: roundMoney(trial ? ZERO : fraction.times(plan.baseFee), plan.currency),
    };
  });
}

/**
 * The usage billed for one period, as an invoice remembers it: enough to price that period again
 * (the plan as it was) when late events change its quantities.
 */
export interface BilledPeriod {
  periodStart: string;
  periodEnd: string;
  trial: boolean;
  plan: Plan;
  quantities: Record<string, string>;
}

/**
 * Lines that bill what late events changed in a period already invoiced: for each meter whose quantity
 * moved, the period is priced again under its own plan and the line carries the difference of the two
 * rounded amounts (it can be zero, inside a quota, or negative). Never dropped, always labelled.
 */
export function adjustmentLines(
  billed: BilledPeriod,
  current: Readonly<Record<string, string>>,
  labels: Readonly<Record<string, MeterLabel>>,
): InvoiceLine[] {
  const lines: InvoiceLine[] = [];
  for (const meter of Object.keys(billed.plan.prices).sort()) {
    const before = billed.quantities[meter] ?? '0';
    const after = current[meter] ?? '0';
    if (new Dec(before).equals(after)) continue;
    const label = labels[meter] ?? { name: meter, unit: 'unit' };
    const was = usageLine(billed.plan, meter, before, label, billed.trial);
    const now = usageLine(billed.plan, meter, after, label, billed.trial);
    const delta = new Dec(after).minus(before);
    lines.push({
      kind: 'adjustment',
      description: `Adjustment: late usage of ${label.name}, ${billed.periodStart.slice(0, 10)} to ${billed.periodEnd.slice(0, 10)} (${delta.isNegative() ? '' : '+'}${delta.toFixed()} ${label.unit}; billed ${before}, now ${after})`,
      meter,
      unit: label.unit,
      quantity: delta.toFixed(),
      billable: new Dec(now.billable!).minus(was.billable!).toFixed(),
      price: now.price!,
      from: billed.periodStart,
      to: billed.periodEnd,
      amount: subtractMoney(now.amount, was.amount, billed.plan.currency),
    });
  }
  return lines;
}

export interface Totals {
  subtotal: string;
  /** Fraction, e.g. "0.2" for 20%. */
  taxRate: string;
  tax: string;
  total: string;
}

/** Subtotal is the sum of the rounded lines; tax is one more rounded line on it; total adds the two. */
export function totals(lines: readonly InvoiceLine[], taxRate: string, currency: Currency): Totals {
  const subtotal = sumMoney(
    lines.map((l) => l.amount),
    currency,
  );
  const tax = roundMoney(new Dec(subtotal).times(taxRate), currency);
  return { subtotal, taxRate, tax, total: sumMoney([subtotal, tax], currency) };
}
