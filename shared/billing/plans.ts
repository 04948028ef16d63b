import * as z from 'zod';
import { Dec } from '../kernel/decimal.js';
import { currencySchema, decimalString } from '../kernel/money.js';
import { meterKeySchema } from '../metering/meters.js';
import { commitmentSchema } from './commitments.js';
import { featuresSchema } from './entitlements.js';
import { thresholdsSchema } from './thresholds.js';

/**
 * Plans are data: a currency, a base fee per period and, per meter, one price model. Every price is a
 * decimal string, so sub-cent unit prices ($0.00001 per API call) are exact.
 *
 * Tiers: `upTo` is inclusive (a tier covers quantities above the previous tier's `upTo` up to and
 * including its own); the last tier has `upTo: null` (no upper bound). A tier's `flatFee` is charged
 * once when any quantity falls in it (graduated) or when the total falls in it (volume).
 */
export const planIdSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be 1-63 lowercase letters, digits or dashes');

const positiveDecimal = decimalString.refine((v) => new Dec(v).greaterThan(0), 'must be greater than zero');

const tierSchema = z.strictObject({
  upTo: positiveDecimal.nullable(),
  unitPrice: decimalString,
  flatFee: decimalString.default('0'),
});
export type Tier = z.infer<typeof tierSchema>;

const tiersSchema = z
  .array(tierSchema)
  .min(1)
  .max(20)
  .superRefine((tiers, ctx) => {
    tiers.forEach((t, i) => {
      const last = i === tiers.length - 1;
      if (last !== (t.upTo === null))
        ctx.addIssue({ code: 'custom', path: [i, 'upTo'], message: 'only the last tier has upTo null, and it must' });
      const prev = tiers[i - 1]?.upTo;
      if (t.upTo !== null && prev && !new Dec(t.upTo).greaterThan(prev))
        ctx.addIssue({ code: 'custom', path: [i, 'upTo'], message: 'tiers must rise strictly' });
    });
  });

export const priceSchema = z.discriminatedUnion('model', [
  /** Usage is recorded on the invoice but costs nothing. */
  z.strictObject({ model: z.literal('free') }),
  /** quantity × unitPrice. */
  z.strictObject({ model: z.literal('perUnit'), unitPrice: decimalString }),
  /**
   * packagePrice per `packageSize` units. `up` charges whole packages (1,001 calls = 2 packages of 1,000);
   * `prorated` charges the exact fraction (1,001 calls = 1.001 packages).
   */
  z.strictObject({
    model: z.literal('package'),
    packageSize: positiveDecimal,
    packagePrice: decimalString,
    rounding: z.enum(['up', 'prorated']),
  }),
  /** Each unit at the price of the tier it falls in. */
  z.strictObject({ model: z.literal('graduated'), tiers: tiersSchema }),
  /** Every unit at the price of the tier the total falls in. */
  z.strictObject({ model: z.literal('volume'), tiers: tiersSchema }),
  /** `included` units free per period (or `unlimited`), each unit beyond at `unitPrice`. */
  z.strictObject({ model: z.literal('quota'), included: z.union([z.literal('unlimited'), decimalString]), unitPrice: decimalString }),
]);
export type Price = z.infer<typeof priceSchema>;

export const intervals = ['month', 'year'] as const;
export type Interval = (typeof intervals)[number];

export const planDefinitionSchema = z.strictObject({
  name: z.string().min(1).max(200),
  currency: currencySchema,
  interval: z.enum(intervals),
  baseFee: decimalString,
  prices: z.record(meterKeySchema, priceSchema),
  /** What the plan includes beside its prices (./entitlements.ts); none when absent. */
  features: featuresSchema.optional(),
  /** A minimum spend per period, trued up on the invoice (./commitments.ts). */
  commitment: commitmentSchema.optional(),
  /** Progressive billing: invoice early when the period's amount due crosses these (./progressive.ts). */
  thresholds: thresholdsSchema.optional(),
  /** Listed to every tenant (`GET /v1/pricing/plans`), who may price its own past usage on it (./simulations.ts). */
  public: z.boolean().optional(),
});
export type PlanDefinition = z.infer<typeof planDefinitionSchema>;

/**
 * A plan is a series of immutable versions (./plan-versions.ts): `version` is absent on a plan's first version
 * (as on every plan stored before versions existed), `effectiveAt` is when a later version took effect.
 */
export const planSchema = planDefinitionSchema.extend({
  id: planIdSchema,
  version: z.number().int().min(2).optional(),
  effectiveAt: z.string().optional(),
});
export type Plan = z.infer<typeof planSchema>;

/** A plan's version number: 1 for the first. */
export const versionOf = (plan: Pick<Plan, 'version'>): number => plan.version ?? 1;

/**
 * What a subscription names to be on one version of a plan: the plan id for its first version, `<id>@<n>` for
 * the n-th. The first version keeps the bare id so that subscriptions, invoices and Stripe links written before
 * versions existed name it unchanged.
 */
export const planRef = (planId: string, version: number): string => (version === 1 ? planId : `${planId}@${version}`);

export function parsePlanRef(ref: string): { planId: string; version: number } {
  const at = ref.lastIndexOf('@');
  return at < 0 ? { planId: ref, version: 1 } : { planId: ref.slice(0, at), version: Number(ref.slice(at + 1)) };
}

/** The reference to this very version. */
export const refOf = (plan: Pick<Plan, 'id' | 'version'>): string => planRef(plan.id, versionOf(plan));

/** The plan's included quota per meter, where it is a number (an unlimited quota has no percentage). */
export function includedQuotas(plan: Plan): Map<string, string> {
  return new Map(
    Object.entries(plan.prices).flatMap(([meter, price]) =>
      price.model === 'quota' && price.included !== 'unlimited' ? [[meter, price.included] as const] : [],
    ),
  );
}

/** Months in one billing period. */
export const intervalMonths = (interval: Interval): number => (interval === 'year' ? 12 : 1);

/**
 * The two seed documents' price books. Seed 1: $199 a month plus five per-unit rates (storage per
 * GB-month, API calls $0.01 per 1,000). Seed 2: three tiers with included quotas and overage rates in
 * cents (estimates 500 = $5.00 each); Enterprise's 999999 sentinels are modelled as truly unlimited.
 * Seed 2's features are the plans' features as it lists them: its `*_per_month` limits are metered
 * features on the meter they name, `users` a static value. All four are public: the seeds' published prices. A stored plan
 * with the same id overrides its seed.
 */
export const seedPlans: Plan[] = [
  {
    id: 'base-199',
    name: 'Usage-based',
    currency: 'USD',
    interval: 'month',
    public: true,
    baseFee: '199.00',
    prices: {
      orders: { model: 'perUnit', unitPrice: '0.10' },
      invoices: { model: 'perUnit', unitPrice: '0.05' },
      storage_gb: { model: 'perUnit', unitPrice: '1.00' },
      api_calls: { model: 'package', packageSize: '1000', packagePrice: '0.01', rounding: 'prorated' },
      ai_jobs: { model: 'perUnit', unitPrice: '0.50' },
    },
  },
  {
    id: 'starter',
    name: 'Starter',
    currency: 'USD',
    interval: 'month',
    public: true,
    baseFee: '299.00',
    prices: {
      estimates: { model: 'quota', included: '50', unitPrice: '5.00' },
      api_calls: { model: 'quota', included: '1000', unitPrice: '0.10' },
      seats: { model: 'quota', included: '3', unitPrice: '10.00' },
    },
    features: {
      estimates_per_month: { kind: 'metered', meter: 'estimates', limit: '50' },
      api_calls_per_month: { kind: 'metered', meter: 'api_calls', limit: '1000' },
      users: { kind: 'static', value: '3' },
    },
  },
  {
    id: 'professional',
    name: 'Professional',
    currency: 'USD',
    interval: 'month',
    public: true,
    baseFee: '999.00',
    prices: {
      estimates: { model: 'quota', included: '200', unitPrice: '4.00' },
      api_calls: { model: 'quota', included: '10000', unitPrice: '0.08' },
      seats: { model: 'quota', included: '10', unitPrice: '8.00' },
    },
    features: {
      estimates_per_month: { kind: 'metered', meter: 'estimates', limit: '200' },
      api_calls_per_month: { kind: 'metered', meter: 'api_calls', limit: '10000' },
      users: { kind: 'static', value: '10' },
      advanced_reporting: { kind: 'boolean', value: true },
    },
  },
  {
    id: 'enterprise',
    name: 'Enterprise',
    currency: 'USD',
    interval: 'month',
    public: true,
    baseFee: '2999.00',
    prices: {
      estimates: { model: 'quota', included: 'unlimited', unitPrice: '0' },
      api_calls: { model: 'quota', included: 'unlimited', unitPrice: '0' },
      seats: { model: 'quota', included: 'unlimited', unitPrice: '0' },
    },
    features: {
      estimates_per_month: { kind: 'metered', meter: 'estimates', limit: 'unlimited' },
      api_calls_per_month: { kind: 'metered', meter: 'api_calls', limit: 'unlimited' },
      users: { kind: 'static', value: 'unlimited' },
      sso: { kind: 'boolean', value: true },
      dedicated_support: { kind: 'boolean', value: true },
    },
  },
];
