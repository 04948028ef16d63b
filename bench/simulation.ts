import { performance } from 'node:perf_hooks';
import { simulateFleet } from '../shared/billing/fleet-simulations.js';
import { draftInvoice } from '../shared/billing/invoice-drafts.js';
import type { Invoice } from '../shared/billing/invoices.js';
import { type Plan, seedPlans } from '../shared/billing/plans.js';
import type { BillingReads } from '../shared/billing/ports.js';
import { newSubscription, periodAt, type Subscription } from '../shared/billing/subscriptions.js';
import { sumMoney } from '../shared/kernel/money.js';
import { seedMeters } from '../shared/metering/seed-meters.js';
import { printTable } from './report.js';

/**
 * `npm run bench -- simulation`: the fleet simulation's pricing, in process. 10,000 tenants on the seed tiers, each with
 * three invoiced months drafted beforehand from generated counters, re-priced on a changed Professional. The counters
 * are an in-memory map here: this measures the pricing and the fleet's sums, not the counter reads.
 */
export async function simulation() {
  const TENANTS = 10_000;
  const PERIODS = 3;
  const start = Date.UTC(2026, 0, 1);
  const professional = seedPlans.find((p) => p.id === 'professional')!;
  const candidate: Plan = {
    ...professional,
    version: 2,
    baseFee: '899.00',
    prices: { ...professional.prices, api_calls: { model: 'quota', included: '8000', unitPrice: '0.09' } },
  };
  const counters = new Map<string, string>();
  const reads: BillingReads = {
    plan: async (ref) => seedPlans.find((p) => p.id === ref),
    meters: async () => seedMeters,
    quantity: async (tenant, meter, period) => counters.get(`${tenant}|${meter.key}|${period.start}`) ?? '0',
  };
  const tiers = ['starter', 'professional', 'enterprise'];
  const prepared = performance.now();
  const tenants: { sub: Subscription; invoices: Invoice[] }[] = [];
  for (let i = 0; i < TENANTS; i++) {
    const tenantId = `bench-${i}`;
    const startAt = start + (i % 28) * 86_400_000;
    const sub = newSubscription({ tenantId, planId: tiers[i % 3]!, interval: 'month', currency: 'USD', startAt, now: startAt });
    const invoices: Invoice[] = [];
    let at = startAt;
    for (let k = 0; k < PERIODS; k++) {
      const period = periodAt(sub, at);
      counters.set(`${tenantId}|estimates|${period.start}`, String((i * 7 + k * 13) % 400));
      counters.set(`${tenantId}|api_calls|${period.start}`, String((i * 997 + k * 3001) % 20_000));
      counters.set(`${tenantId}|seats|${period.start}`, String((i + k) % 25));
      const draft = await draftInvoice(reads, sub, period, []);
      invoices.unshift({ ...draft, id: `${i}-${k}`, number: `${i}-${k}`, status: 'open', issuedAt: '', statusHistory: [] });
      at = period.end;
    }
    tenants.push({ sub, invoices });
  }
  const preparing = performance.now() - prepared;
  const t = performance.now();
  const fleet = await simulateFleet(reads, candidate, tenants);
  const seconds = (performance.now() - t) / 1000;
  printTable('Fleet simulation, in process (npm run bench -- simulation)', [
    {
      tenants: fleet.tenants,
      periods: TENANTS * PERIODS,
      seconds: Number(seconds.toFixed(2)),
      'periods/s': Math.round((TENANTS * PERIODS) / seconds),
      'tenants/s': Math.round(TENANTS / seconds),
      'drafting the invoices, s': Number((preparing / 1000).toFixed(2)),
      'revenue before': sumMoney(
        fleet.revenue.map((r) => r.issued),
        'USD',
      ),
      after: sumMoney(
        fleet.revenue.map((r) => r.simulated),
        'USD',
      ),
    },
  ]);
}
