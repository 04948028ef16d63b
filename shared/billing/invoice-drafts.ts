import { Dec } from '../kernel/decimal.js';
import type { Period } from '../kernel/periods.js';
import { UTC } from '../kernel/zones.js';
import { isGauge, type Meter } from '../metering/meters.js';
import { commitmentTrueUp } from './commitments.js';
import { applyCredits, boundaries, type CreditGrant, type LedgerEntry, liveBalance } from './credits.js';
import { ADJUSTABLE_PERIODS, type InvoiceDraft } from './invoices.js';
import { type Plan, versionOf } from './plans.js';
import type { BillingReads } from './ports.js';
import { adjustmentLines, type BilledPeriod, baseFeeLines, type MeterLabel, totals, usageLines } from './pricing.js';
import { type BillingPeriod, hasEnded, periodAt, planSegments, type Subscription, timeZoneAt, usagePlanId } from './subscriptions.js';
import { billedUnit } from './units.js';

/*
 * Prices one period of a subscription into an invoice draft: the invoice job closes periods with it,
 * and the billing API shows the upcoming invoice and analytics with it, so both always agree.
 */

/** Each priced meter's billed quantity over `period` up to `asOf` (0 for a meter the tenant lacks). */
export async function quantities(
  reads: BillingReads,
  tenantId: string,
  plan: Plan,
  meters: ReadonlyMap<string, Meter>,
  period: Period,
  asOf: number,
): Promise<Record<string, string>> {
  const entries = await Promise.all(
    Object.keys(plan.prices).map(async (key) => {
      const meter = meters.get(key);
      return [key, meter ? await reads.quantity(tenantId, meter, period, asOf) : '0'] as const;
    }),
  );
  return Object.fromEntries(entries);
}

export const labelsOf = (meters: ReadonlyMap<string, Meter>): Record<string, MeterLabel> =>
  Object.fromEntries([...meters.values()].map((m) => [m.key, { name: m.name, unit: billedUnit(m) }]));

export async function requirePlan(reads: BillingReads, planId: string): Promise<Plan> {
  const plan = await reads.plan(planId);
  if (!plan) throw new Error(`plan ${planId} does not exist`);
  return plan;
}

/** The tenant's credits as an invoice run applies them: its grants, its ledger, and the run's ref (credits.ts). */
export interface CreditsToApply {
  grants: readonly CreditGrant[];
  entries: readonly LedgerEntry[];
  ref: string;
}

/**
 * The draft for `period`, in this order: base fees per plan segment, usage under the plan in force at
 * the end, adjustments for late usage in the periods `previous` (the tenant's last invoice) billed; then
 * prepaid credits (unit grants before their meter is priced, money grants on what is then due); then the
 * minimum commitment true-up (the subscription's own, else its plan's); tax last, on the subtotal. `asOf` below the period's end prices it as
 * if it closed then (the upcoming invoice).
 */
export async function draftInvoice(
  reads: BillingReads,
  sub: Subscription,
  period: BillingPeriod,
  previous: readonly BilledPeriod[],
  asOf = period.end,
  credits?: CreditsToApply,
): Promise<InvoiceDraft> {
  const meters = new Map((await reads.meters(sub.tenantId)).map((m) => [m.key, m]));
  const labels = labelsOf(meters);
  const segments = await Promise.all(planSegments(sub, period).map(async (s) => ({ ...s, plan: await requirePlan(reads, s.planId) })));
  const plan = await requirePlan(reads, usagePlanId(sub, period));
  const used = await quantities(reads, sub.tenantId, plan, meters, period, asOf);

  const adjustments = await Promise.all(
    previous.map(async (billed) => {
      const billedPeriod = { start: Date.parse(billed.periodStart), end: Date.parse(billed.periodEnd) };
      const now = await quantities(reads, sub.tenantId, billed.plan, meters, billedPeriod, billedPeriod.end);
      return { lines: adjustmentLines(billed, now, labels), billed: { ...billed, quantities: now } };
    }),
  );

  const fixed = [...baseFeeLines(segments, period, period.trial), ...adjustments.flatMap((a) => a.lines)];
  const priced = [
    ...fixed.filter((l) => l.kind === 'base'),
    ...usageLines(plan, used, labels, period.trial),
    ...fixed.filter((l) => l.kind !== 'base'),
  ];
  let credit: ReturnType<typeof applyCredits> | undefined;
  if (credits && credits.grants.length > 0 && !period.trial) {
    const cuts = boundaries(credits.grants, period);
    const snapshots = new Map(
      await Promise.all(
        cuts.map(async (b) => [b, b >= asOf ? used : await quantities(reads, sub.tenantId, plan, meters, period, b)] as const),
      ),
    );
    credit = applyCredits({
      ...credits,
      period,
      currency: plan.currency,
      fixed: totals(fixed, '0', plan.currency).subtotal,
      quantitiesAt: (b) => snapshots.get(b)!,
      price: (q) => usageLines(plan, q, labels),
    });
  }
  const settled = [...priced, ...(credit?.lines ?? [])];
  const minimum = sub.commitment ?? plan.commitment;
  const commitment = minimum && !period.trial ? commitmentTrueUp(minimum, settled, plan.currency) : undefined;
  const lines = [...settled, ...(commitment?.line ? [commitment.line] : [])];
  const own: BilledPeriod = {
    periodStart: new Date(period.start).toISOString(),
    periodEnd: new Date(period.end).toISOString(),
    trial: period.trial,
    plan,
    quantities: used,
  };
  const timeZone = timeZoneAt(sub, period.end - 1);
  return {
    tenantId: sub.tenantId,
    currency: plan.currency,
    periodStart: own.periodStart,
    periodEnd: own.periodEnd,
    ...(timeZone !== UTC ? { timeZone } : {}),
    trial: period.trial,
    planId: plan.id,
    planVersion: versionOf(plan),
    lines,
    ...totals(lines, sub.taxRate, plan.currency),
    billed: [own, ...adjustments.map((a) => a.billed)].slice(0, ADJUSTABLE_PERIODS),
    ...(credit ? { creditEntries: credit.entries } : {}),
    ...(commitment ? { commitment: commitment.outcome } : {}),
  };
}

/**
 * The quantity a meter will reach by the period's end at its current run rate: additive meters
 * (SUM, COUNT) scale by period length ÷ time elapsed; gauges (LATEST, TIME_WEIGHTED) carry their last
 * reading to the end (read with `asOf` at the end instead); extremes, means and distinct counts (MAX, MIN,
 * AVG, UNIQUE_COUNT) stay as they are, since they do not grow with time.
 */
export function projectQuantity(meter: Meter | undefined, quantity: string, period: Period, now: number): string {
  if (!meter || (meter.aggregation !== 'SUM' && meter.aggregation !== 'COUNT')) return quantity;
  const elapsed = Math.min(Math.max(now - period.start, 0), period.end - period.start);
  if (elapsed === 0) return quantity;
  return new Dec(quantity)
    .times(period.end - period.start)
    .div(elapsed)
    .toDecimalPlaces(6, Dec.ROUND_HALF_UP)
    .toFixed();
}

/** Each priced meter's quantity at the period's end at the current run rate (gauges: carried to the end). */
export async function projectedQuantities(
  reads: BillingReads,
  tenantId: string,
  plan: Plan,
  meters: ReadonlyMap<string, Meter>,
  period: Period,
  now: number,
  soFar: Readonly<Record<string, string>>,
): Promise<Record<string, string>> {
  const carried = await quantities(reads, tenantId, plan, meters, period, period.end);
  return Object.fromEntries(
    Object.keys(plan.prices).map((k) => [
      k,
      isGauge(meters.get(k)?.aggregation ?? 'SUM') ? carried[k]! : projectQuantity(meters.get(k), soFar[k]!, period, now),
    ]),
  );
}

/**
 * What the period costs before tax: `current` is the base fee plus usage so far (the upcoming invoice
 * without late adjustments), `projected` the base fee plus usage at the current run rate.
 */
export async function periodSpend(
  reads: BillingReads,
  sub: Subscription,
  period: BillingPeriod,
  now: number,
): Promise<{ currency: string; current: string; projected: string }> {
  const draft = await draftInvoice(reads, sub, period, [], now);
  const plan = await requirePlan(reads, draft.planId);
  const meters = new Map((await reads.meters(sub.tenantId)).map((m) => [m.key, m]));
  // The draft's own billed period holds the quantities so far.
  const soFar = draft.billed[0]!.quantities;
  const projected = usageLines(
    plan,
    await projectedQuantities(reads, sub.tenantId, plan, meters, period, now, soFar),
    labelsOf(meters),
    period.trial,
  );
  const base = draft.lines.filter((l) => l.kind === 'base');
  return { currency: draft.currency, current: draft.subtotal, projected: totals([...base, ...projected], '0', plan.currency).subtotal };
}

/**
 * The tenant's credits as they stand at `now` (credits.ts `liveBalance`), from the open period's draft up to
 * `now`, which it returns too (no open period outside the subscription's life: the ledger alone).
 */
export async function liveCredits(
  reads: BillingReads,
  sub: Subscription,
  ledger: { grants: readonly CreditGrant[]; entries: readonly LedgerEntry[] },
  now: number,
) {
  const open = now >= Date.parse(sub.startedAt) && !hasEnded(sub, now) ? periodAt(sub, now) : undefined;
  const draft = open ? await draftInvoice(reads, sub, open, [], now, { ...ledger, ref: new Date(open.start).toISOString() }) : undefined;
  return { open, draft, ...liveBalance(ledger.grants, ledger.entries, draft?.creditEntries ?? [], now, sub.currency) };
}

/** Change from `before` to `after` in percent, one decimal (half-up); null when there was nothing before. */
export function trendPercent(before: string, after: string): string | null {
  if (new Dec(before).isZero()) return null;
  return new Dec(after).minus(before).div(before).times(100).toDecimalPlaces(1, Dec.ROUND_HALF_UP).toFixed(1);
}
