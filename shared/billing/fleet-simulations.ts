import { Dec } from '../kernel/decimal.js';
import { ClientError } from '../kernel/errors.js';
import { type Currency, subtractMoney, sumMoney } from '../kernel/money.js';
import type { Invoice } from './invoices.js';
import type { Plan } from './plans.js';
import type { BillingReads } from './ports.js';
import { type SimulatedAmount, type Simulation, simulate } from './simulations.js';
import type { Subscription } from './subscriptions.js';

/**
 * A price change across the fleet: every subscribed tenant's last invoiced periods re-priced on one candidate
 * (./simulations.ts, tenant by tenant), summed into what an operator decides on: revenue before and after per period,
 * how the tenants' bills move (how many pay more or less, percentiles of the change), the largest increases and
 * decreases, and the tenants whose usage would cross an alert threshold of the candidate's included quotas that it
 * does not cross today.
 */

/** The default alert rules' thresholds: 80% and 100% of an included quota (shared/alerts). */
export const QUOTA_THRESHOLDS = [80, 100] as const;

/** How many of the largest increases and decreases are listed. */
export const LARGEST = 10;

export interface TenantChange {
  tenantId: string;
  issued: string;
  simulated: string;
  difference: string;
  /** The difference in percent of what was invoiced, one decimal; null when nothing was invoiced. */
  percent: string | null;
}

export interface QuotaCrossing {
  tenantId: string;
  meter: string;
  periodStart: string;
  quantity: string;
  included: string;
  /** The highest threshold (percent of the candidate's quota) the usage reaches, which it did not reach as invoiced. */
  threshold: number;
}

export interface FleetSimulation {
  currency: Currency;
  tenants: number;
  /** Tenants left out: billing in another currency or interval than the candidate. */
  skipped: number;
  /** Per calendar month (yearly plans: year) of the period's start. */
  revenue: { period: string; tenants: number; issued: string; simulated: string; difference: string }[];
  distribution: {
    more: number;
    less: number;
    same: number;
    /** Nearest-rank percentiles of the per-tenant difference. */
    percentiles: Record<'p10' | 'p25' | 'p50' | 'p75' | 'p90', string>;
  };
  largestIncreases: TenantChange[];
  largestDecreases: TenantChange[];
  crossings: QuotaCrossing[];
  /** Every tenant's change, in the order simulated. */
  changes: TenantChange[];
}

/** The highest threshold a quantity reaches under a quota, 0 when none (or no numeric quota). */
function reached(side: SimulatedAmount): number {
  if (side.quantity === undefined || side.included === undefined || side.included === 'unlimited') return 0;
  const included = new Dec(side.included);
  if (included.isZero()) return 0;
  const percent = new Dec(side.quantity).div(included).times(100);
  return Math.max(0, ...QUOTA_THRESHOLDS.filter((t) => percent.greaterThanOrEqualTo(t)));
}

/** What the fleet keeps of one tenant's simulation: each period's totals and the thresholds it would cross. */
export interface TenantOutcome {
  tenantId: string;
  periods: { periodStart: string; issued: string; simulated: string }[];
  crossings: QuotaCrossing[];
}

export function outcomeOf(sim: Simulation): TenantOutcome {
  const crossings: QuotaCrossing[] = [];
  for (const p of sim.periods)
    for (const line of p.lines) {
      if (line.kind !== 'usage' || !line.meter) continue;
      const threshold = reached(line.simulated);
      if (threshold > reached(line.issued))
        crossings.push({
          tenantId: sim.tenantId,
          meter: line.meter,
          periodStart: p.periodStart,
          quantity: line.simulated.quantity!,
          included: line.simulated.included!,
          threshold,
        });
    }
  return {
    tenantId: sim.tenantId,
    periods: sim.periods.map((p) => ({ periodStart: p.periodStart, issued: p.issued, simulated: p.simulated })),
    crossings,
  };
}

/** A change from `issued` to `simulated`, in money and in percent of `issued` (one decimal; null when it is zero). */
function changeOf(tenantId: string, issued: string, simulated: string, currency: Currency): TenantChange {
  const difference = subtractMoney(simulated, issued, currency);
  const percent = new Dec(issued).isZero()
    ? null
    : new Dec(difference).div(issued).times(100).toDecimalPlaces(1, Dec.ROUND_HALF_UP).toFixed(1);
  return { tenantId, issued, simulated, difference, percent };
}

/** Folds tenants' outcomes into the fleet's figures, in any order and any number of steps (a job's pages). */
export class FleetAccumulator {
  private readonly revenue = new Map<string, { tenants: number; issued: string[]; simulated: string[] }>();
  private readonly changes: TenantChange[] = [];
  private readonly crossings: QuotaCrossing[] = [];
  private skipped = 0;

  constructor(private readonly currency: Currency) {}

  skip(count = 1): void {
    this.skipped += count;
  }

  add(outcome: TenantOutcome): void {
    const c = this.currency;
    for (const p of outcome.periods) {
      const key = p.periodStart.slice(0, 7);
      const r = this.revenue.get(key) ?? { tenants: 0, issued: [], simulated: [] };
      r.tenants++;
      r.issued.push(p.issued);
      r.simulated.push(p.simulated);
      this.revenue.set(key, r);
    }
    this.crossings.push(...outcome.crossings);
    const total = (pick: (p: TenantOutcome['periods'][number]) => string) => sumMoney(outcome.periods.map(pick), c);
    this.changes.push(
      changeOf(
        outcome.tenantId,
        total((p) => p.issued),
        total((p) => p.simulated),
        c,
      ),
    );
  }

  result(): FleetSimulation {
    const c = this.currency;
    const byDifference = [...this.changes].sort((a, b) => new Dec(a.difference).comparedTo(b.difference));
    const rank = (p: number) =>
      byDifference.length === 0 ? sumMoney([], c) : byDifference[Math.max(0, Math.ceil((p / 100) * byDifference.length) - 1)]!.difference;
    const sign = (x: TenantChange) => new Dec(x.difference).comparedTo(0);
    return {
      currency: c,
      tenants: this.changes.length,
      skipped: this.skipped,
      revenue: [...this.revenue.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([period, r]) => {
          const issued = sumMoney(r.issued, c);
          const simulated = sumMoney(r.simulated, c);
          return { period, tenants: r.tenants, issued, simulated, difference: subtractMoney(simulated, issued, c) };
        }),
      distribution: {
        more: this.changes.filter((x) => sign(x) > 0).length,
        less: this.changes.filter((x) => sign(x) < 0).length,
        same: this.changes.filter((x) => sign(x) === 0).length,
        percentiles: { p10: rank(10), p25: rank(25), p50: rank(50), p75: rank(75), p90: rank(90) },
      },
      largestIncreases: byDifference
        .filter((x) => sign(x) > 0)
        .reverse()
        .slice(0, LARGEST),
      largestDecreases: byDifference.filter((x) => sign(x) < 0).slice(0, LARGEST),
      crossings: this.crossings,
      changes: this.changes,
    };
  }
}

/** One subscribed tenant and its newest invoices (as the store lists them). */
export interface FleetTenant {
  sub: Subscription;
  invoices: readonly Invoice[];
}

/** One tenant re-priced on `candidate`; undefined when it cannot be (another currency or interval). */
export async function simulateTenant(reads: BillingReads, candidate: Plan, tenant: FleetTenant): Promise<TenantOutcome | undefined> {
  try {
    return outcomeOf(await simulate(reads, tenant.sub, candidate, tenant.invoices));
  } catch (error) {
    if (!(error instanceof ClientError)) throw error;
    return undefined;
  }
}

/** Every tenant of `tenants` re-priced on `candidate`, in process. */
export async function simulateFleet(
  reads: BillingReads,
  candidate: Plan,
  tenants: AsyncIterable<FleetTenant> | Iterable<FleetTenant>,
): Promise<FleetSimulation> {
  const fleet = new FleetAccumulator(candidate.currency);
  for await (const tenant of tenants) {
    const outcome = await simulateTenant(reads, candidate, tenant);
    if (outcome) fleet.add(outcome);
    else fleet.skip();
  }
  return fleet.result();
}

export const FLEET_CSV_HEADER = 'tenant_id,period_start,issued,simulated,difference,percent\r\n';

/**
 * The outcomes as CSV rows (RFC 4180), one per tenant and period, after FLEET_CSV_HEADER. Tenant ids and ISO instants
 * need no quoting: lowercase letters, digits, dashes, colons and dots.
 */
export function fleetCsvRows(outcomes: readonly TenantOutcome[], currency: Currency): string {
  return outcomes
    .flatMap((o) =>
      o.periods.map((p) => {
        const x = changeOf(o.tenantId, p.issued, p.simulated, currency);
        return `${[o.tenantId, p.periodStart, x.issued, x.simulated, x.difference, x.percent ?? ''].join(',')}\r\n`;
      }),
    )
    .join('');
}
