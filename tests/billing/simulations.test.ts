import { describe, expect, it } from 'vitest';
import { createBillingApi } from '../../functions/billing/billing.js';
import { createBillingAdminApi } from '../../functions/billing-admin/billing-admin.js';
import { httpEvent } from '../../local/http-event.js';
import { lambdaContext } from '../../local/lambda.js';
import { draftInvoice } from '../../shared/billing/invoice-drafts.js';
import type { Invoice } from '../../shared/billing/invoices.js';
import { type Plan, type PlanDefinition, seedPlans } from '../../shared/billing/plans.js';
import type { BillingReads } from '../../shared/billing/ports.js';
import { simulate } from '../../shared/billing/simulations.js';
import { newSubscription, periodAt } from '../../shared/billing/subscriptions.js';
import { seedMeters } from '../../shared/metering/seed-meters.js';

const t = (s: string) => Date.parse(s);
const JANUARY = t('2025-01-01T00:00:00Z');

/** Seed 000's worked example: Optical Labs in January 2025 on the $199 usage-based plan, invoiced $478.50. */
const january: Record<string, string> = { orders: '1250', invoices: '980', storage_gb: '45', api_calls: '50000', ai_jobs: '120' };

const candidate: PlanDefinition = {
  name: 'Usage-based 2026',
  currency: 'USD',
  interval: 'month',
  baseFee: '149.00',
  prices: {
    orders: {
      model: 'graduated',
      tiers: [
        { upTo: '1000', unitPrice: '0.10', flatFee: '0' },
        { upTo: null, unitPrice: '0.08', flatFee: '0' },
      ],
    },
    invoices: { model: 'perUnit', unitPrice: '0.04' },
    storage_gb: { model: 'quota', included: '50', unitPrice: '1.00' },
    api_calls: { model: 'package', packageSize: '1000', packagePrice: '0.02', rounding: 'up' },
    ai_jobs: { model: 'perUnit', unitPrice: '0.75' },
  },
};

/** Optical Labs since January 2025, its January invoice issued from the counters; other periods had no usage. */
function opticalLabs() {
  const plans = new Map(seedPlans.map((p) => [p.id, p]));
  const reads: BillingReads = {
    plan: async (ref) => plans.get(ref),
    meters: async () => seedMeters,
    quantity: async (_tenant, meter, period) => (period.start === JANUARY ? (january[meter.key] ?? '0') : '0'),
  };
  const sub = newSubscription({
    tenantId: 'optical-labs',
    planId: 'base-199',
    interval: 'month',
    currency: 'USD',
    startAt: JANUARY,
    now: JANUARY,
  });
  const issue = async (at: number, number: string): Promise<Invoice> => {
    const draft = await draftInvoice(reads, sub, periodAt(sub, at), []);
    return { ...draft, id: number, number, status: 'open', issuedAt: new Date(at).toISOString(), statusHistory: [] };
  };
  return { plans, reads, sub, issue };
}

describe('simulating one tenant', () => {
  it("re-prices seed 000's worked example on a candidate plan, line by line, with hand-computed totals", async () => {
    const w = opticalLabs();
    const invoice = await w.issue(JANUARY, 'INV-2025-000001');
    expect(invoice.total).toBe('478.50');
    const sim = await simulate(w.reads, w.sub, { id: 'candidate', ...candidate }, [invoice]);

    const [period] = sim.periods;
    const row = (key: string) => {
      const l = period!.lines.find((l) => (l.meter ?? l.kind) === key)!;
      return [l.issued.amount, l.simulated.amount, l.difference];
    };
    // Base: $199 → $149.
    expect(row('base')).toEqual(['199.00', '149.00', '-50.00']);
    // 1,000 orders at $0.10 and 250 at $0.08 = $120.00 (was 1,250 × $0.10).
    expect(row('orders')).toEqual(['125.00', '120.00', '-5.00']);
    // 980 invoices at $0.04 = $39.20 (was $0.05).
    expect(row('invoices')).toEqual(['49.00', '39.20', '-9.80']);
    // 45 GB inside a 50 GB quota (was $1.00 a GB).
    expect(row('storage_gb')).toEqual(['45.00', '0.00', '-45.00']);
    // 50,000 calls = 50 whole packages of 1,000 at $0.02 (was $0.01 per 1,000, prorated).
    expect(row('api_calls')).toEqual(['0.50', '1.00', '0.50']);
    // 120 AI jobs at $0.75 (was $0.50).
    expect(row('ai_jobs')).toEqual(['60.00', '90.00', '30.00']);
    expect(period!.lines.find((l) => l.meter === 'orders')).toMatchObject({
      issued: { quantity: '1250' },
      simulated: { quantity: '1250' },
    });
    expect(period).toMatchObject({
      periodStart: '2025-01-01T00:00:00.000Z',
      periodEnd: '2025-02-01T00:00:00.000Z',
      invoiceId: 'INV-2025-000001',
      issuedPlan: { planId: 'base-199', version: 1 },
      notRepriced: [],
      issued: '478.50',
      simulated: '399.20',
      difference: '-79.30',
    });
    expect(sim).toMatchObject({
      candidate: { planId: 'candidate', name: 'Usage-based 2026' },
      issued: '478.50',
      simulated: '399.20',
      difference: '-79.30',
    });
  });

  it('sums several periods oldest first; the issued plan itself re-prices to the invoice exactly', async () => {
    const w = opticalLabs();
    const invoices = [await w.issue(t('2025-02-10T00:00:00Z'), 'INV-2025-000002'), await w.issue(JANUARY, 'INV-2025-000001')];
    const same = await simulate(w.reads, w.sub, w.plans.get('base-199')!, invoices);
    expect(same.periods.map((p) => [p.periodStart.slice(0, 7), p.issued, p.simulated])).toEqual([
      ['2025-01', '478.50', '478.50'],
      ['2025-02', '199.00', '199.00'],
    ]);
    expect(same).toMatchObject({ issued: '677.50', simulated: '677.50', difference: '0.00' });
    expect(same.periods.flatMap((p) => p.lines.map((l) => l.difference)).every((d) => d === '0.00')).toBe(true);
  });

  it('through the admin API: a version or a definition, refused when both, neither, or billing differently', async () => {
    const w = opticalLabs();
    const invoice = await w.issue(JANUARY, 'INV-2025-000001');
    const api = createBillingAdminApi({
      store: {
        getSubscription: async (id: string) => (id === 'optical-labs' ? w.sub : undefined),
        listInvoices: async () => ({ invoices: [invoice] }),
        planVersions: async (id: string) => [...w.plans.values()].filter((p) => p.id === id),
      } as never,
      reads: w.reads,
      tenantExists: async (id) => id !== 'ghost',
      publish: async () => {},
      defaultAlerts: async () => {},
      meters: async () => seedMeters,
      simulations: {} as never,
      newId: () => 'unused',
      now: () => t('2025-03-01T00:00:00Z'),
    });
    const post = async (body: unknown) => {
      const res = await api(httpEvent({ routeKey: 'POST /v1/admin/simulations', admin: true, body }), lambdaContext('billing-admin'));
      return { status: res.statusCode, body: JSON.parse(res.body as string) };
    };
    expect(await post({ tenantId: 'optical-labs', definition: candidate })).toMatchObject({ status: 200, body: { simulated: '399.20' } });
    // Starter: $299, and of Optical Labs' meters only API calls, 49,000 beyond its 1,000 at $0.10 = $4,900.
    expect(await post({ tenantId: 'optical-labs', planId: 'starter', periods: 1 })).toMatchObject({
      status: 200,
      body: { candidate: { planId: 'starter', version: 1 }, issued: '478.50', simulated: '5199.00', difference: '4720.50' },
    });
    expect(await post({ tenantId: 'optical-labs', planId: 'starter', definition: candidate })).toMatchObject({
      status: 400,
      body: { field: 'planId' },
    });
    expect(await post({ tenantId: 'optical-labs' })).toMatchObject({ status: 400, body: { field: 'planId' } });
    expect(await post({ tenantId: 'optical-labs', planId: 'starter', version: 2 })).toMatchObject({
      status: 404,
      body: { field: 'version' },
    });
    expect(await post({ tenantId: 'optical-labs', planId: 'starter', periods: 13 })).toMatchObject({
      status: 400,
      body: { field: 'periods' },
    });
    expect(await post({ tenantId: 'optical-labs', definition: { ...candidate, currency: 'EUR' } })).toMatchObject({
      status: 409,
      body: { code: 'CONFLICT' },
    });
    expect(await post({ tenantId: 'optical-labs', definition: { ...candidate, baseFee: 0.1 + 0.2 } })).toMatchObject({
      status: 400,
      body: { field: 'definition.baseFee' },
    });
    expect(await post({ tenantId: 'ghost', planId: 'starter' })).toMatchObject({ status: 404, body: { field: 'tenantId' } });
    const res = await api(
      httpEvent({
        routeKey: 'POST /v1/admin/simulations',
        tenantId: 'optical-labs',
        body: { tenantId: 'optical-labs', planId: 'starter' },
      }),
      lambdaContext('billing-admin'),
    );
    expect(res.statusCode).toBe(403);
  });

  it('a tenant simulates its own usage on a public plan, and only on one', async () => {
    const w = opticalLabs();
    const invoice = await w.issue(JANUARY, 'INV-2025-000001');
    w.plans.set('private-deal', { ...seedPlans[0]!, id: 'private-deal', public: false });
    const api = createBillingApi({
      store: {
        getSubscription: async (id: string) => (id === 'optical-labs' ? w.sub : undefined),
        listInvoices: async () => ({ invoices: [invoice] }),
        listPlans: async () => [...w.plans.values()],
        planVersions: async (id: string) => [...w.plans.values()].filter((p) => p.id === id),
      } as never,
      reads: w.reads,
      quotaReads: { quantity: async () => '0', level: async () => '0' },
      tenantName: async () => 'Optical Labs',
      now: () => t('2025-03-01T00:00:00Z'),
    });
    const get = async (routeKey: string, query?: Record<string, string>) => {
      const res = await api(httpEvent({ routeKey, tenantId: 'optical-labs', ...(query ? { query } : {}) }), lambdaContext('billing'));
      return { status: res.statusCode, body: JSON.parse(res.body as string) };
    };
    expect((await get('GET /v1/pricing/plans')).body.plans.map((p: Plan) => p.id)).toEqual([
      'base-199',
      'starter',
      'professional',
      'enterprise',
    ]);
    // Professional: $999, and 40,000 API calls beyond its 10,000 at $0.08 = $3,200.
    expect(await get('GET /v1/pricing/simulate', { plan: 'professional' })).toMatchObject({
      status: 200,
      body: { tenantId: 'optical-labs', issued: '478.50', simulated: '4199.00', difference: '3720.50' },
    });
    expect(await get('GET /v1/pricing/simulate', { plan: 'private-deal' })).toMatchObject({ status: 404, body: { field: 'plan' } });
    expect(await get('GET /v1/pricing/simulate', { plan: 'nope' })).toMatchObject({ status: 404, body: { field: 'plan' } });
    expect(await get('GET /v1/pricing/simulate')).toMatchObject({ status: 400, body: { field: 'plan' } });
  });
});
