import * as z from 'zod';
import { type DomainEvent, domainEvent } from '../events/domain-events.js';
import { Dec } from '../kernel/decimal.js';
import { decimalField, numberField } from '../kernel/json-fields.js';
import { decimalString } from '../kernel/money.js';
import type { Period } from '../kernel/periods.js';
import { meterKeySchema } from '../metering/meters.js';
import { sensitivities } from './anomaly.js';
import { balanceCrossing, balanceEvent, balanceRuleSchema } from './balance-rules.js';
import { MIN_GAP_MINUTES } from './silence.js';

/**
 * Alert rules: a tenant asks to hear when something crosses a threshold within the billing period (the
 * subscription's current period; the calendar month without one). A rule is one of
 *
 * - `quantity`: a meter's value for the period reaches an absolute quantity;
 * - `percent`: a meter's value reaches a percentage of the plan's included quota (`of: "included"`) or of
 *   the tenant's hard quota (`of: "quota"`);
 * - `spend`: the period's cost so far (`basis: "current"`) or its projected end-of-period cost
 *   (`basis: "projected"`) reaches an amount in the plan's currency;
 * - `balance`: the tenant's prepaid credit balance falls to an amount or below (./balance-rules.ts).
 *
 * Each of these fires at most once per period and again in the next one. Two more kinds watch usage's
 * shape rather than its total, in episodes that open and resolve (./episodes.ts): `anomaly` (./anomaly.ts)
 * and `silence` (./silence.ts). The evaluator records the firing
 * (with the value that crossed) before it notifies, and notifies again only if that notification is not
 * known to have gone out. Independently of rules, a hard quota that is reached is announced once per
 * period as `quota.exceeded`.
 */
export const alertIdSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must be 1-63 lowercase letters, digits, dashes or underscores');

/** A positive decimal: a string, or a JSON number read exactly from its text. */
const positiveDecimal = decimalField(
  z.string().refine((v) => /^\d{1,18}(\.\d{1,12})?$/.test(v) && new Dec(v).greaterThan(0), 'must be a positive decimal number'),
);

const name = z.string().min(1).max(100).optional();

export const alertConditionSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('quantity'), meter: meterKeySchema, threshold: positiveDecimal, name }),
  z.strictObject({ kind: z.literal('percent'), meter: meterKeySchema, of: z.enum(['included', 'quota']), percent: positiveDecimal, name }),
  /** Without `meter`, every meter of the tenant, each judged on its own. */
  z.strictObject({
    kind: z.literal('anomaly'),
    meter: z.optional(meterKeySchema),
    sensitivity: z.enum(sensitivities).default('medium'),
    name,
  }),
  /** Without `meter`, the tenant's meters together; without `afterMinutes`, the gap is learned from history. */
  z.strictObject({
    kind: z.literal('silence'),
    meter: z.optional(meterKeySchema),
    afterMinutes: z.optional(
      numberField(
        z
          .number()
          .int()
          .min(MIN_GAP_MINUTES)
          .max(7 * 24 * 60),
      ),
    ),
    name,
  }),
  z.strictObject({
    kind: z.literal('spend'),
    basis: z.enum(['current', 'projected']),
    amount: decimalString.refine((v) => new Dec(v).greaterThan(0), 'must be greater than zero'),
    name,
  }),
  balanceRuleSchema,
]);

/** A rule without `kind` is a quantity rule: `{ meter, threshold }` is the shortest way to say it. */
export const alertDefinitionSchema = z.preprocess(
  (v) => (v !== null && typeof v === 'object' && !Array.isArray(v) && !('kind' in v) ? { kind: 'quantity', ...v } : v),
  alertConditionSchema,
);
export type AlertDefinition = z.infer<typeof alertConditionSchema>;

export type Alert = AlertDefinition & {
  id: string;
  tenantId: string;
  createdAt: string;
};

/** A period in which a rule crossed its threshold. `notifiedAt` is unset until the notification went out. */
export const alertFiringSchema = z.object({
  alertId: z.string(),
  /** The period's start (ISO 8601): firings are per billing period. */
  period: z.string(),
  /** The value that crossed: a quantity in the meter's unit, or an amount in the plan's currency. */
  value: z.string(),
  /** The threshold it crossed, in the same unit (a percent rule's percentage resolved against the quota). */
  threshold: z.string(),
  firedAt: z.string(),
  notifiedAt: z.string().optional(),
});
export type AlertFiring = z.infer<typeof alertFiringSchema>;

/** Firings of hard quotas are kept beside the rules' under this id prefix (a rule id cannot contain ':'). */
export const quotaFiringId = (meter: string) => `quota:${meter}`;

/** What a tenant's rules are compared against, for one billing period. */
export interface PeriodSnapshot {
  period: Period;
  /** Each meter's value for the period as a person reads it (totals, peaks, distinct counts, current level). */
  usage: ReadonlyMap<string, string>;
  /** Each meter's billable quantity for the period (what the plan's included quota counts). */
  billable: ReadonlyMap<string, string>;
  /** The plan's included quota per meter, where it is a number. */
  included: ReadonlyMap<string, string>;
  /** Hard quota limits per meter. */
  quotas: ReadonlyMap<string, string>;
  /** The period's cost before tax, when the tenant has a subscription. */
  spend?: { currency: string; current: string; projected: string };
  /** The prepaid credit balance now, when a balance rule asks for it and the tenant has a subscription. */
  balance?: { currency: string; value: string };
}

/** The rules that fire once per billing period when a value reaches a threshold. */
export type ThresholdAlert = Extract<Alert, { kind: 'quantity' | 'percent' | 'spend' | 'balance' }>;
export const isThresholdRule = (a: Alert): a is ThresholdAlert => a.kind !== 'anomaly' && a.kind !== 'silence';

export interface Crossing {
  alert: ThresholdAlert;
  value: string;
  threshold: string;
}

/** The rules whose threshold the snapshot reaches, with the value that reached it and the resolved threshold. */
export function crossedRules(alerts: readonly Alert[], s: PeriodSnapshot): Crossing[] {
  return alerts.filter(isThresholdRule).flatMap((alert): Crossing[] => {
    if (alert.kind === 'balance') return balanceCrossing(alert, s.balance);
    const measured = measure(alert, s);
    return measured && new Dec(measured.value).greaterThanOrEqualTo(measured.threshold) ? [{ alert, ...measured }] : [];
  });
}

function measure(alert: ThresholdAlert, s: PeriodSnapshot): { value: string; threshold: string } | undefined {
  switch (alert.kind) {
    case 'quantity': {
      const value = s.usage.get(alert.meter);
      return value === undefined ? undefined : { value, threshold: alert.threshold };
    }
    case 'percent': {
      const base = alert.of === 'included' ? s.included.get(alert.meter) : s.quotas.get(alert.meter);
      const value = (alert.of === 'included' ? s.billable : s.usage).get(alert.meter);
      // No included quota (or an unlimited one) and no hard quota: there is nothing to be a percentage of.
      if (base === undefined || value === undefined || new Dec(base).isZero()) return undefined;
      return { value, threshold: new Dec(base).times(alert.percent).div(100).toFixed() };
    }
    case 'spend':
      return s.spend ? { value: alert.basis === 'current' ? s.spend.current : s.spend.projected, threshold: alert.amount } : undefined;
    case 'balance':
      return undefined;
  }
}

/** The hard quotas the snapshot's usage has reached, with the usage that reached them. */
export function reachedQuotas(s: PeriodSnapshot): { meter: string; value: string; limit: string }[] {
  return [...s.quotas].flatMap(([meter, limit]) => {
    const value = s.usage.get(meter);
    return value !== undefined && new Dec(value).greaterThanOrEqualTo(limit) ? [{ meter, value, limit }] : [];
  });
}

/** Seed 1's defaults: a new subscription gets a rule at 80% and one at 100% of each numeric included quota of its plan. */
export const DEFAULT_PERCENTS = ['80', '100'] as const;

export function defaultAlerts(tenantId: string, included: ReadonlyMap<string, string>, now: string): Alert[] {
  return [...included.keys()].flatMap((meter) =>
    DEFAULT_PERCENTS.map(
      (percent): Alert => ({
        // A meter key may be 63 characters; the id keeps within alertIdSchema's 63.
        id: `included-${meter.slice(0, 48)}-${percent}`,
        tenantId,
        kind: 'percent',
        meter,
        of: 'included',
        percent,
        name: `${meter}: ${percent}% of the included quota`,
        createdAt: now,
      }),
    ),
  );
}

/**
 * The domain event announcing a firing. Built from the recorded firing (not from a fresh reading), so a
 * notification retried in a later run says exactly what the first attempt said, under the same id.
 */
export function firingEvent(
  tenantId: string,
  alert: ThresholdAlert | undefined,
  firing: AlertFiring,
  period: Period,
  currency: string | undefined,
): DomainEvent {
  const p = { start: new Date(period.start).toISOString(), end: new Date(period.end).toISOString() };
  const key = `${firing.alertId}:${firing.period}`;
  const named = alert?.name ? { name: alert.name } : {};
  if (!alert) {
    const meter = firing.alertId.slice('quota:'.length);
    return domainEvent('quota.exceeded', tenantId, key, { meter, limit: firing.threshold, value: firing.value, period: p }, firing.firedAt);
  }
  if (alert.kind === 'balance') return balanceEvent(tenantId, alert, firing, p, key, currency);
  if (alert.kind === 'spend') {
    const data = {
      alertId: alert.id,
      ...named,
      basis: alert.basis,
      threshold: firing.threshold,
      value: firing.value,
      currency: currency ?? '',
      period: p,
    };
    return domainEvent('spend.threshold_crossed', tenantId, key, data, firing.firedAt);
  }
  const percent = alert.kind === 'percent' ? { of: alert.of, percent: alert.percent } : {};
  const data = {
    alertId: alert.id,
    ...named,
    kind: alert.kind,
    meter: alert.meter,
    ...percent,
    threshold: firing.threshold,
    value: firing.value,
    period: p,
  };
  return domainEvent('usage.threshold_crossed', tenantId, key, data, firing.firedAt);
}
