import * as z from 'zod';
import { type DomainEvent, domainEvent } from '../events/domain-events.js';
import { Dec } from '../kernel/decimal.js';
import { decimalString } from '../kernel/money.js';
import type { AlertFiring } from './rules.js';

/**
 * `balance` rules: a tenant hears when its prepaid credit balance (what is left of its money grants now,
 * after the open period's usage so far: shared/billing/credits.ts `liveBalance`) falls to `below` or
 * under it, in the plan's currency. Several rules give several warnings ("100.00", "20.00", "0"); each
 * fires once per billing period, like every rule.
 */
export const balanceRuleSchema = z.strictObject({
  kind: z.literal('balance'),
  below: decimalString.refine((v) => new Dec(v).greaterThanOrEqualTo(0), 'must be zero or more'),
  name: z.string().min(1).max(100).optional(),
});
export type BalanceRule = z.infer<typeof balanceRuleSchema> & { id: string };

/** The crossing of a balance rule: the balance, at or under the rule's amount. */
export function balanceCrossing<A extends BalanceRule>(
  alert: A,
  balance: { value: string } | undefined,
): { alert: A; value: string; threshold: string }[] {
  return balance && new Dec(balance.value).lessThanOrEqualTo(alert.below) ? [{ alert, value: balance.value, threshold: alert.below }] : [];
}

export function balanceEvent(
  tenantId: string,
  alert: BalanceRule,
  firing: AlertFiring,
  period: { start: string; end: string },
  key: string,
  currency: string | undefined,
): DomainEvent {
  const data = {
    alertId: alert.id,
    ...(alert.name ? { name: alert.name } : {}),
    threshold: firing.threshold,
    value: firing.value,
    currency: currency ?? '',
    period,
  };
  return domainEvent('credits.balance_low', tenantId, key, data, firing.firedAt);
}
