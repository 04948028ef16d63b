import * as z from 'zod';
import { Dec } from '../kernel/decimal.js';
import { decimalString } from '../kernel/money.js';
import type { Period } from '../kernel/periods.js';
import { meterKeySchema } from '../metering/meters.js';
import { BALANCE_EXHAUSTED, type CreditStanding, creditStandingSchema } from './prepaid.js';
import type { Quota } from './quotas.js';

/**
 * What a plan includes beside its prices, in three kinds:
 *
 * - `boolean`: the plan has the feature or not (`sso`);
 * - `static`: a value the product reads and enforces itself (`users: "3"`, `"unlimited"`, `"business hours"`);
 * - `metered`: a meter with a limit per billing period (`api_calls_per_month` on `api_calls`); its limit is
 *   the tenant's hard quota on that meter, unless an admin set a quota of the tenant's own, which wins.
 *
 * A feature the plan does not list is not included: asking for it answers `hasAccess: false`.
 * Numbers are decimal strings, as everywhere in billing; `unlimited` is a word, never a sentinel number.
 */
export const featureKeySchema = z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'must be 1-63 lowercase letters, digits or underscores');

const unlimited = z.literal('unlimited');

export const featureSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('boolean'), value: z.boolean() }),
  z.strictObject({ kind: z.literal('static'), value: z.string().min(1).max(200) }),
  z.strictObject({ kind: z.literal('metered'), meter: meterKeySchema, limit: z.union([unlimited, decimalString]) }),
]);
export type Feature = z.infer<typeof featureSchema>;
export type FeatureKind = Feature['kind'];

export const featuresSchema = z.record(featureKeySchema, featureSchema).superRefine((features, ctx) => {
  const seen = new Map<string, string>();
  for (const [key, f] of Object.entries(features)) {
    if (f.kind !== 'metered') continue;
    const other = seen.get(f.meter);
    if (other) ctx.addIssue({ code: 'custom', path: [key, 'meter'], message: `meter ${f.meter} is already limited by feature ${other}` });
    seen.set(f.meter, key);
  }
});
export type Features = z.infer<typeof featuresSchema>;

/** A hard quota in force for a tenant: from its plan's metered feature, or an admin's override. */
export interface EffectiveQuota extends Quota {
  source: 'plan' | 'override';
  /** The plan's feature that limits the meter, when there is one. */
  feature?: string;
}

/**
 * The tenant's hard quotas: each metered feature of its plan with a numeric limit, and every admin quota,
 * which replaces the plan's on the same meter. Sorted by meter.
 */
export function effectiveQuotas(features: Features | undefined, overrides: readonly Quota[], planSince: string): EffectiveQuota[] {
  const byMeter = new Map<string, EffectiveQuota>();
  for (const [feature, f] of Object.entries(features ?? {})) {
    if (f.kind === 'metered' && f.limit !== 'unlimited')
      byMeter.set(f.meter, { meter: f.meter, limit: f.limit, updatedAt: planSince, source: 'plan', feature });
  }
  for (const q of overrides) {
    const feature = byMeter.get(q.meter)?.feature;
    byMeter.set(q.meter, { ...q, source: 'override', ...(feature ? { feature } : {}) });
  }
  return [...byMeter.values()].sort((a, b) => a.meter.localeCompare(b.meter));
}

export const entitlementSchema = z.object({
  feature: z.string(),
  kind: z.enum(['boolean', 'static', 'metered']),
  hasAccess: z.boolean(),
  /** boolean: whether it is included; static: the value; metered: absent. */
  value: z.union([z.boolean(), z.string()]).optional(),
  meter: z.string().optional(),
  usage: z.string().optional(),
  /** A decimal string or `unlimited`. */
  limit: z.string().optional(),
  remaining: z.string().optional(),
  resetsAt: z.string().optional(),
  /** True when an admin's quota for this tenant replaces the plan's limit. */
  override: z.boolean().optional(),
  /**
   * Why `hasAccess` is false: the plan lacks the feature, a metered feature's limit is reached for the
   * period, or a prepaid tenant's balance is used up (metered features only: using them costs money).
   */
  reason: z.enum(['NOT_INCLUDED', 'LIMIT_REACHED', BALANCE_EXHAUSTED]).optional(),
  /** A prepaid tenant's standing, on its metered features. */
  prepaid: creditStandingSchema.optional(),
});
export type Entitlement = z.infer<typeof entitlementSchema>;

/** A feature absent from the plan. */
export const notIncluded = (feature: string): Entitlement => ({
  feature,
  kind: 'boolean',
  hasAccess: false,
  value: false,
  reason: 'NOT_INCLUDED',
});

/**
 * One feature as the tenant has it now. A metered feature has access while usage is below its limit;
 * `usage` is the meter's value this period (absent when the tenant has no such meter: it counts as 0).
 */
export function entitlement(
  feature: string,
  def: Feature,
  metered?: { usage: string; period: Period; override?: Quota; standing?: CreditStanding },
): Entitlement {
  if (def.kind === 'boolean')
    return { feature, kind: def.kind, hasAccess: def.value, value: def.value, ...(def.value ? {} : { reason: 'NOT_INCLUDED' }) };
  if (def.kind === 'static') return { feature, kind: def.kind, hasAccess: true, value: def.value };
  const usage = metered?.usage ?? '0';
  const limit = metered?.override?.limit ?? def.limit;
  const resetsAt = metered ? { resetsAt: new Date(metered.period.end).toISOString() } : {};
  const override = metered?.override ? { override: true } : {};
  const withinLimit = limit === 'unlimited' || new Dec(usage).lessThan(limit);
  const broke = metered?.standing?.exhausted === true;
  return {
    feature,
    kind: def.kind,
    hasAccess: withinLimit && !broke,
    meter: def.meter,
    usage,
    limit,
    remaining: limit === 'unlimited' ? 'unlimited' : Dec.max(new Dec(limit).minus(usage), 0).toFixed(),
    ...resetsAt,
    ...override,
    ...(broke ? { reason: BALANCE_EXHAUSTED } : withinLimit ? {} : { reason: 'LIMIT_REACHED' as const }),
    ...(metered?.standing ? { prepaid: metered.standing } : {}),
  };
}
