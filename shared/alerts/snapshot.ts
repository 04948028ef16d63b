import type { CreditGrant, LedgerEntry } from '../billing/credits.js';
import { liveCredits, periodSpend } from '../billing/invoice-drafts.js';
import { includedQuotas } from '../billing/plans.js';
import type { BillingReads } from '../billing/ports.js';
import { type Quota, type QuotaReads, quotaPeriod, quotaUsage } from '../billing/quotas.js';
import { hasEnded, periodAt, type Subscription, usagePlanId } from '../billing/subscriptions.js';
import { type Alert, isThresholdRule, type PeriodSnapshot } from './rules.js';

/** What the evaluator reads about a tenant: its subscription and plan, hard quotas, meters and quantities. */
export interface SnapshotReads {
  billing: BillingReads;
  quotaReads: QuotaReads;
  subscription(tenantId: string): Promise<Subscription | undefined>;
  quotas(tenantId: string): Promise<Quota[]>;
  /** The tenant's credit grants and ledger, for balance rules. */
  credits(tenantId: string): Promise<{ grants: CreditGrant[]; entries: LedgerEntry[] }>;
}

/**
 * The values a tenant's rules and quotas are compared against at `now`, over its billing period. Only
 * what the rules need is read: a meter's usage when a rule or quota names it, billable quantities and the
 * plan's included quotas for `included` rules, the period's cost for spend rules, the credit balance for
 * balance rules.
 */
export async function periodSnapshot(
  reads: SnapshotReads,
  tenantId: string,
  alerts: readonly Alert[],
  quotas: readonly Quota[],
  now: number,
): Promise<PeriodSnapshot> {
  const sub = await reads.subscription(tenantId);
  const period = quotaPeriod(sub, now);
  const active = sub && now >= Date.parse(sub.startedAt) && !hasEnded(sub, now) ? sub : undefined;
  const meters = new Map((await reads.billing.meters(tenantId)).map((m) => [m.key, m]));
  const usageOf = [
    ...new Set([...alerts.flatMap((a) => (isThresholdRule(a) && 'meter' in a ? [a.meter] : [])), ...quotas.map((q) => q.meter)]),
  ].filter((m) => meters.has(m));
  const billableOf = [...new Set(alerts.flatMap((a) => (a.kind === 'percent' && a.of === 'included' ? [a.meter] : [])))].filter((m) =>
    meters.has(m),
  );

  const usage = new Map(
    await Promise.all(usageOf.map(async (m) => [m, await quotaUsage(reads.quotaReads, tenantId, meters.get(m)!, period, now)] as const)),
  );
  const billable = new Map(
    await Promise.all(billableOf.map(async (m) => [m, await reads.billing.quantity(tenantId, meters.get(m)!, period, now)] as const)),
  );
  const plan = active && billableOf.length > 0 ? await reads.billing.plan(usagePlanId(active, period)) : undefined;
  const included = plan ? includedQuotas(plan) : new Map<string, string>();
  const wantsSpend = alerts.some((a) => a.kind === 'spend');
  const spend = active && wantsSpend ? await periodSpend(reads.billing, active, periodAt(active, now), now) : undefined;
  const wantsBalance = alerts.some((a) => a.kind === 'balance');
  const balance =
    sub && wantsBalance
      ? { currency: sub.currency, value: (await liveCredits(reads.billing, sub, await reads.credits(tenantId), now)).balance }
      : undefined;
  return {
    period,
    usage,
    billable,
    included,
    quotas: new Map(quotas.map((q) => [q.meter, q.limit])),
    ...(spend ? { spend } : {}),
    ...(balance ? { balance } : {}),
  };
}
