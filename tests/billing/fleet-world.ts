import fc from 'fast-check';
import { draftInvoice } from '../../shared/billing/invoice-drafts.js';
import type { Invoice } from '../../shared/billing/invoices.js';
import { type Plan, seedPlans } from '../../shared/billing/plans.js';
import type { BillingReads } from '../../shared/billing/ports.js';
import { newSubscription, periodAt, type Subscription } from '../../shared/billing/subscriptions.js';
import { sumMoney } from '../../shared/kernel/money.js';
import { seedMeters } from '../../shared/metering/seed-meters.js';

/** Generated tenants on the seed tiers with invoiced months, and a changed Professional to re-price them on. */

const DAY = 86_400_000;
const START = Date.UTC(2026, 0, 1);
const seed = (id: string) => seedPlans.find((p) => p.id === id)!;
export const candidate: Plan = {
  ...seed('professional'),
  version: 2,
  baseFee: '899.00',
  prices: {
    estimates: { model: 'quota', included: '150', unitPrice: '4.50' },
    api_calls: { model: 'quota', included: '8000', unitPrice: '0.09' },
    seats: { model: 'quota', included: '10', unitPrice: '8.00' },
  },
};

export interface GeneratedTenant {
  plan: 'starter' | 'professional' | 'enterprise';
  startDay: number;
  /** Per period: estimates, api_calls, seats. */
  usage: [number, number, number][];
}

/** Generated tenants with their invoices drafted from the generated counters, on their own plans. */
export async function fleetOf(generated: GeneratedTenant[]) {
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
export async function onCandidate(reads: BillingReads, sub: Subscription, invoices: readonly Invoice[]) {
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

export const tenantArb = fc.record({
  plan: fc.constantFrom('starter' as const, 'professional' as const, 'enterprise' as const),
  startDay: fc.integer({ min: 0, max: 27 }),
  usage: fc.array(fc.tuple(fc.nat(400), fc.nat(20_000), fc.nat(25)), { minLength: 1, maxLength: 3 }),
});
