import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fleetCsv, simulateFleet } from '../../shared/billing/fleet-simulations.js';
import { draftInvoice } from '../../shared/billing/invoice-drafts.js';
import type { Invoice } from '../../shared/billing/invoices.js';
import { type Plan, seedPlans } from '../../shared/billing/plans.js';
import type { BillingReads } from '../../shared/billing/ports.js';
import { newSubscription, periodAt, type Subscription } from '../../shared/billing/subscriptions.js';
import { Dec } from '../../shared/kernel/decimal.js';
import { sumMoney } from '../../shared/kernel/money.js';
import { seedMeters } from '../../shared/metering/seed-meters.js';

const DAY = 86_400_000;
const START = Date.UTC(2026, 0, 1);
const seed = (id: string) => seedPlans.find((p) => p.id === id)!;
const candidate: Plan = {
  ...seed('professional'),
  version: 2,
  baseFee: '899.00',
  prices: {
    estimates: { model: 'quota', included: '150', unitPrice: '4.50' },
    api_calls: { model: 'quota', included: '8000', unitPrice: '0.09' },
    seats: { model: 'quota', included: '10', unitPrice: '8.00' },
  },
};

interface GeneratedTenant {
  plan: 'starter' | 'professional' | 'enterprise';
  startDay: number;
  /** Per period: estimates, api_calls, seats. */
  usage: [number, number, number][];
}

/** Generated tenants with their invoices drafted from the generated counters, on their own plans. */
async function fleetOf(generated: GeneratedTenant[]) {
  const plans = new Map<string, Plan>([...seedPlans.map((p) => [p.id, p] as const), ['#cand', candidate]]);
  const usage = new Map<string, [number, number, number]>();
  const meterIndex: Record<string, number> = { estimates: 0, api_calls: 1, seats: 2 };
  const reads: BillingReads = {
    plan: async (ref) => plans.get(ref),
    meters: async () => seedMeters,
    quantity: async (tenant, meter, period) => String(usage.get(`${tenant}|${period.start}`)?.[meterIndex[meter.key] ?? -1] ?? 0),
  };
  const tenants: { sub: Subscription; invoices: Invoice[] }[] = [];
  for (const [i, g] of generated.entries()) {
    const tenantId = `t-${i}`;
    const startAt = START + g.startDay * DAY;
    const sub = newSubscription({ tenantId, planId: g.plan, interval: 'month', currency: 'USD', startAt, now: startAt });
    const invoices: Invoice[] = [];
    let at = startAt;
    for (const [k, q] of g.usage.entries()) {
      const period = periodAt(sub, at);
      usage.set(`${tenantId}|${period.start}`, q);
      const draft = await draftInvoice(reads, sub, period, []);
      const number = `INV-2026-${String(i * 10 + k).padStart(6, '0')}`;
      invoices.unshift({ ...draft, id: number, number, status: 'open', issuedAt: new Date(period.end).toISOString(), statusHistory: [] });
      at = period.end;
    }
    tenants.push({ sub, invoices });
  }
  return { reads, tenants };
}

/** The tenant priced one by one, on its own: a subscription that was on the candidate all along, period by period. */
async function onCandidate(reads: BillingReads, sub: Subscription, invoices: readonly Invoice[]) {
  const own = newSubscription({
    tenantId: sub.tenantId,
    planId: '#cand',
    interval: 'month',
    currency: 'USD',
    startAt: Date.parse(sub.startedAt),
    now: 0,
  });
  const subtotals = await Promise.all(
    invoices.map(async (i) => (await draftInvoice(reads, own, periodAt(own, Date.parse(i.periodStart)), [])).subtotal),
  );
  return sumMoney(subtotals, 'USD');
}

const tenantArb = fc.record({
  plan: fc.constantFrom('starter' as const, 'professional' as const, 'enterprise' as const),
  startDay: fc.integer({ min: 0, max: 27 }),
  usage: fc.array(fc.tuple(fc.nat(400), fc.nat(20_000), fc.nat(25)), { minLength: 1, maxLength: 3 }),
});

describe('simulating a price change across the fleet', () => {
  it('its totals equal pricing each tenant one by one (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(tenantArb, { minLength: 1, maxLength: 12 }), async (generated) => {
        const { reads, tenants } = await fleetOf(generated);
        const fleet = await simulateFleet(reads, candidate, tenants);

        const issued = tenants.map((t) =>
          sumMoney(
            t.invoices.map((i) => i.subtotal),
            'USD',
          ),
        );
        const simulated = await Promise.all(tenants.map((t) => onCandidate(reads, t.sub, t.invoices)));
        expect(fleet.tenants).toBe(tenants.length);
        expect(fleet.changes.map((c) => [c.tenantId, c.issued, c.simulated])).toEqual(
          tenants.map((t, i) => [t.sub.tenantId, issued[i], simulated[i]]),
        );
        expect(
          sumMoney(
            fleet.revenue.map((r) => r.issued),
            'USD',
          ),
        ).toBe(sumMoney(issued, 'USD'));
        expect(
          sumMoney(
            fleet.revenue.map((r) => r.simulated),
            'USD',
          ),
        ).toBe(sumMoney(simulated, 'USD'));
        expect(fleet.revenue.reduce((n, r) => n + r.tenants, 0)).toBe(generated.reduce((n, g) => n + g.usage.length, 0));

        const { more, less, same, percentiles } = fleet.distribution;
        expect(more + less + same).toBe(tenants.length);
        const differences = fleet.changes.map((c) => c.difference);
        const ranks = [percentiles.p10, percentiles.p25, percentiles.p50, percentiles.p75, percentiles.p90];
        for (const p of ranks) expect(differences).toContain(p);
        for (let i = 1; i < ranks.length; i++) expect(new Dec(ranks[i]!).greaterThanOrEqualTo(ranks[i - 1]!)).toBe(true);
        expect(fleet.largestIncreases.length).toBe(Math.min(more, 10));
        expect(
          fleet.largestIncreases.every((c, i, all) => i === 0 || new Dec(c.difference).lessThanOrEqualTo(all[i - 1]!.difference)),
        ).toBe(true);
        expect(fleet.largestDecreases.length).toBe(Math.min(less, 10));
        expect(fleet.largestDecreases.every((c) => new Dec(c.difference).isNegative())).toBe(true);
      }),
      { numRuns: 25 },
    );
  });

  it('names tenants that would cross an alert threshold of the new quotas, and writes the changes as CSV', async () => {
    const { reads, tenants } = await fleetOf([
      // Enterprise is unlimited: 7,000 calls (87.5% of the candidate's 8,000) and 12 seats (over its 10) cross 80% and 100%.
      { plan: 'enterprise', startDay: 0, usage: [[0, 7000, 12]] },
      // Professional: 9,000 calls were 90% of its 10,000 (80% reached), and are 112.5% of 8,000: 100% crossed.
      { plan: 'professional', startDay: 0, usage: [[0, 9000, 1]] },
    ]);
    const fleet = await simulateFleet(reads, candidate, tenants);
    expect(fleet.crossings.map((c) => `${c.tenantId} ${c.meter} ${c.quantity}/${c.included} ${c.threshold}%`)).toEqual([
      't-0 api_calls 7000/8000 80%',
      't-0 seats 12/10 100%',
      't-1 api_calls 9000/8000 100%',
    ]);
    // t-0: $2,999 → $899 + 2 seats × $8 = $915; t-1: $999 → $899 + 1,000 calls × $0.09 = $989.
    expect(fleetCsv(fleet)).toBe(
      'tenant_id,issued,simulated,difference,percent\r\nt-0,2999.00,915.00,-2084.00,-69.5\r\nt-1,999.00,989.00,-10.00,-1.0\r\n',
    );
    expect(fleet.revenue).toEqual([{ period: '2026-01', tenants: 2, issued: '3998.00', simulated: '1904.00', difference: '-2094.00' }]);
  });

  it('leaves out a tenant billing in another currency, and counts it', async () => {
    const { reads, tenants } = await fleetOf([{ plan: 'starter', startDay: 0, usage: [[0, 0, 0]] }]);
    const euro = { ...tenants[0]!, sub: { ...tenants[0]!.sub, tenantId: 'eu', currency: 'EUR' as const } };
    const fleet = await simulateFleet(reads, candidate, [...tenants, euro]);
    expect(fleet).toMatchObject({ tenants: 1, skipped: 1 });
  });
});
