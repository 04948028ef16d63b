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
  /** Every tenant's change, in the order simulated (the CSV). */
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

/** Folds tenant simulations into the fleet's figures; `result` can be read at any point (a job's progress). */
export class FleetAccumulator {
  private readonly revenue = new Map<string, { tenants: number; issued: string[]; simulated: string[] }>();
  private readonly changes: TenantChange[] = [];
  private readonly crossings: QuotaCrossing[] = [];
  private skipped = 0;

  constructor(private readonly currency: Currency) {}

  skip(): void {
    this.skipped++;
  }

  add(sim: Simulation): void {
    for (const p of sim.periods) {
      const key = p.periodStart.slice(0, 7);
      const r = this.revenue.get(key) ?? { tenants: 0, issued: [], simulated: [] };
      r.tenants++;
      r.issued.push(p.issued);
      r.simulated.push(p.simulated);
      this.revenue.set(key, r);
      for (const line of p.lines) {
        if (line.kind !== 'usage' || !line.meter) continue;
        const threshold = reached(line.simulated);
        if (threshold > reached(line.issued))
          this.crossings.push({
            tenantId: sim.tenantId,
            meter: line.meter,
            periodStart: p.periodStart,
            quantity: line.simulated.quantity!,
            included: line.simulated.included!,
            threshold,
          });
      }
    }
    const percent = new Dec(sim.issued).isZero()
      ? null
      : new Dec(sim.difference).div(sim.issued).times(100).toDecimalPlaces(1, Dec.ROUND_HALF_UP).toFixed(1);
    this.changes.push({ tenantId: sim.tenantId, issued: sim.issued, simulated: sim.simulated, difference: sim.difference, percent });
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

/** Every tenant of `tenants` re-priced on `candidate`; `progress` hears after each tenant. */
export async function simulateFleet(
  reads: BillingReads,
  candidate: Plan,
  tenants: AsyncIterable<FleetTenant> | Iterable<FleetTenant>,
  progress?: (done: number) => void,
): Promise<FleetSimulation> {
  const fleet = new FleetAccumulator(candidate.currency);
  let done = 0;
  for await (const { sub, invoices } of tenants) {
    try {
      fleet.add(await simulate(reads, sub, candidate, invoices));
    } catch (error) {
      if (!(error instanceof ClientError)) throw error;
      fleet.skip();
    }
    progress?.(++done);
  }
  return fleet.result();
}

/** The per-tenant changes as CSV (RFC 4180; tenant ids need no quoting: lowercase letters, digits and dashes). */
export function fleetCsv(result: FleetSimulation): string {
  const rows = result.changes.map((x) => [x.tenantId, x.issued, x.simulated, x.difference, x.percent ?? ''].join(','));
  return `${['tenant_id', 'issued', 'simulated', 'difference', 'percent'].join(',')}\r\n${rows.map((r) => `${r}\r\n`).join('')}`;
}
