import * as z from 'zod';
import { sumMoney } from '../kernel/money.js';
import type { Period } from '../kernel/periods.js';
import { labelsOf, projectedQuantities, quantities, requirePlan, trendPercent } from './invoice-drafts.js';
import type { BillingReads } from './ports.js';
import { baseFeeLines, usageLines } from './pricing.js';
import { type BillingPeriod, periodAt, planSegments, type Subscription, usagePlanId } from './subscriptions.js';

const iso = (t: number) => new Date(t).toISOString();
const span = (p: Period) => ({ start: iso(p.start), end: iso(p.end) });

const spanSchema = z.object({ start: z.string(), end: z.string() });

/** The tenant's cost so far in a billing period, as GET /v1/analytics answers it. */
export const analyticsSchema = z.object({
  currency: z.string(),
  asOf: z.string(),
  period: spanSchema,
  previousPeriod: spanSchema.optional(),
  meters: z.array(
    z.object({
      meter: z.string(),
      unit: z.string().optional(),
      quantity: z.string(),
      cost: z.string(),
      previousQuantity: z.string().nullable(),
      previousCost: z.string().nullable(),
      quantityTrendPercent: z.string().nullable(),
      costTrendPercent: z.string().nullable(),
      projectedQuantity: z.string(),
      projectedCost: z.string(),
    }),
  ),
  usageCost: z.string(),
  previousUsageCost: z.string().nullable(),
  usageCostTrendPercent: z.string().nullable(),
  baseFee: z.string(),
  /** Before tax: base fees plus usage at the current run rate. */
  projectedCost: z.string(),
});
export type Analytics = z.infer<typeof analyticsSchema>;

/**
 * The tenant's cost so far in the `current` billing period, per meter and in total, each next to the
 * previous period's and projected to the period's end at the current run rate (a gauge: at its
 * current level). Usage is priced as the invoice would price it (./invoice-drafts.ts). The tenant's analytics
 * route and the operator console both show it.
 */
export async function usageAnalytics(
  reads: BillingReads,
  tenantId: string,
  sub: Subscription,
  current: BillingPeriod,
  now: number,
): Promise<Analytics> {
  const previous = current.start > Date.parse(sub.startedAt) ? periodAt(sub, current.start - 1) : undefined;
  const meters = new Map((await reads.meters(tenantId)).map((m) => [m.key, m]));
  const labels = labelsOf(meters);

  const plan = await requirePlan(reads, usagePlanId(sub, current));
  const soFar = await quantities(reads, tenantId, plan, meters, current, now);
  const lines = usageLines(plan, soFar, labels, current.trial);
  const projected = await projectedQuantities(reads, tenantId, plan, meters, current, now, soFar);
  const projectedLines = usageLines(plan, projected, labels, current.trial);

  let last: { lines: ReturnType<typeof usageLines>; total: string } | undefined;
  if (previous) {
    const lastPlan = await requirePlan(reads, usagePlanId(sub, previous));
    const lastLines = usageLines(
      lastPlan,
      await quantities(reads, tenantId, lastPlan, meters, previous, previous.end),
      labels,
      previous.trial,
    );
    last = {
      lines: lastLines,
      total: sumMoney(
        lastLines.map((l) => l.amount),
        lastPlan.currency,
      ),
    };
  }
  const base = baseFeeLines(
    await Promise.all(planSegments(sub, current).map(async (s) => ({ ...s, plan: await requirePlan(reads, s.planId) }))),
    current,
    current.trial,
  );
  const usageCost = sumMoney(
    lines.map((l) => l.amount),
    plan.currency,
  );
  const projectedUsage = sumMoney(
    projectedLines.map((l) => l.amount),
    plan.currency,
  );
  return {
    currency: plan.currency,
    asOf: iso(now),
    period: span(current),
    ...(previous ? { previousPeriod: span(previous) } : {}),
    meters: lines.map((line, i) => {
      const before = last?.lines.find((l) => l.meter === line.meter);
      return {
        // Usage lines always name their meter.
        meter: line.meter!,
        unit: line.unit,
        quantity: line.quantity,
        cost: line.amount,
        previousQuantity: before?.quantity ?? null,
        previousCost: before?.amount ?? null,
        quantityTrendPercent: before ? trendPercent(before.quantity, line.quantity) : null,
        costTrendPercent: before ? trendPercent(before.amount, line.amount) : null,
        projectedQuantity: projectedLines[i]!.quantity,
        projectedCost: projectedLines[i]!.amount,
      };
    }),
    usageCost,
    previousUsageCost: last?.total ?? null,
    usageCostTrendPercent: last ? trendPercent(last.total, usageCost) : null,
    baseFee: sumMoney(
      base.map((l) => l.amount),
      plan.currency,
    ),
    projectedCost: sumMoney([projectedUsage, ...base.map((l) => l.amount)], plan.currency),
  };
}
