import { describe, expect, it } from 'vitest';
import { createBillingAdminApi } from '../../functions/billing-admin/billing-admin.js';
import { httpEvent } from '../../local/http-event.js';
import { lambdaContext } from '../../local/lambda.js';
import type { FleetSimulationJob } from '../../shared/billing/fleet-simulation-job.js';
import type { Plan, PlanDefinition } from '../../shared/billing/plans.js';
import { newSubscription, type Subscription } from '../../shared/billing/subscriptions.js';
import { seedMeters } from '../../shared/metering/seed-meters.js';

const now = Date.parse('2026-03-10T00:00:00Z');
const orders: PlanDefinition = {
  name: 'Orders',
  currency: 'USD',
  interval: 'month',
  baseFee: '10.00',
  prices: { orders: { model: 'perUnit', unitPrice: '0.10' } },
};
const jobId = '6f1c2a4e-8d0b-4b7e-9a51-3c2d1e0f9a87';
const job = (status: FleetSimulationJob['status'], pages = 0): FleetSimulationJob => ({
  jobId,
  status,
  candidate: { id: 'orders', ...orders },
  periods: 3,
  createdAt: new Date(now).toISOString(),
  attempts: 0,
  progress: { subscriptions: 1, pages, tenants: 1, skipped: 0 },
});

/**
 * The billing admin API over a store that holds plan `orders` (one version), tenant `acme` subscribed to it and
 * tenant `globex` without a subscription; `store` overrides answer as a store does when another writer got there first.
 */
function world(o: { store?: Record<string, unknown>; simulation?: FleetSimulationJob } = {}) {
  const plan: Plan = { id: 'orders', ...orders };
  const subs = new Map<string, Subscription>([
    [
      'acme',
      newSubscription({
        tenantId: 'acme',
        planId: 'orders',
        interval: 'month',
        currency: 'USD',
        startAt: Date.parse('2026-01-01T00:00:00Z'),
        now,
      }),
    ],
  ]);
  const store = {
    getPlan: async (ref: string) => (ref === 'orders' ? plan : undefined),
    listPlans: async () => [plan],
    planVersions: async (id: string) => (id === 'orders' ? [plan] : []),
    publishPlan: async () => true,
    getSubscription: async (tenantId: string) => subs.get(tenantId),
    putSubscription: async () => true,
    subscriptionPages: async function* () {
      yield [...subs.values()];
    },
    latestInvoice: async () => undefined,
    listInvoices: async () => ({ invoices: [] }),
    setInvoiceStatus: async () => undefined,
    listPauses: async () => [],
    pause: async () => false,
    resume: async () => undefined,
    getSeller: async () => undefined,
    getCustomer: async () => undefined,
    credits: async () => ({ grants: [], entries: [] }),
    deleteQuota: async () => false,
    ...o.store,
  };
  const api = createBillingAdminApi({
    store: store as never,
    reads: { plan: store.getPlan, meters: async () => seedMeters, quantity: async () => '0' },
    tenantExists: async (tenantId) => tenantId === 'acme' || tenantId === 'globex',
    publish: async () => {},
    defaultAlerts: async () => {},
    meters: async () => seedMeters,
    simulations: {
      create: async () => {},
      get: async (id: string) => (id === o.simulation?.jobId ? o.simulation : undefined),
      pages: async function* () {},
    } as never,
    newId: () => jobId,
    now: () => now,
  });
  return async (
    routeKey: string,
    path: Record<string, string> = {},
    body?: unknown,
    extra: { query?: Record<string, string>; tenant?: boolean } = {},
  ) => {
    const res = await api(
      httpEvent({
        routeKey,
        admin: !extra.tenant,
        path,
        ...(body !== undefined ? { body } : {}),
        ...(extra.query ? { query: extra.query } : {}),
      }),
      lambdaContext('billing-admin'),
    );
    return { status: res.statusCode, body: res.body ? JSON.parse(res.body as string) : undefined };
  };
}

const refusal = (status: number, code: string, field?: string) => ({
  status,
  body: { code, message: expect.any(String), ...(field ? { field } : {}) },
});

describe('billing admin API: refusals', () => {
  it('refuses a tenant key on every kind of admin route with 403', async () => {
    const call = world();
    for (const [routeKey, path] of [
      ['GET /v1/admin/billing/pauses', {}],
      ['PUT /v1/admin/billing/pause', {}],
      ['GET /v1/admin/plans', {}],
      ['GET /v1/admin/plans/{planId}', { planId: 'orders' }],
      ['POST /v1/admin/simulations', {}],
      ['GET /v1/admin/tenants/{tenantId}/subscription', { tenantId: 'acme' }],
      ['GET /v1/admin/billing/seller', {}],
    ] as const) {
      expect(await call(routeKey, path, { reason: 'x' }, { tenant: true }), routeKey).toEqual(refusal(403, 'FORBIDDEN'));
    }
  });

  it('answers 404 naming the tenant id for a tenant that does not exist, and 400 for one that is no tenant id', async () => {
    const call = world();
    expect(await call('GET /v1/admin/tenants/{tenantId}/subscription', { tenantId: 'initech' })).toEqual(
      refusal(404, 'NOT_FOUND', 'tenantId'),
    );
    expect(await call('GET /v1/admin/tenants/{tenantId}/quotas', { tenantId: 'Not A Tenant' })).toEqual(
      refusal(400, 'INVALID_REQUEST', 'tenantId'),
    );
  });

  it('refuses pausing billing twice and resuming billing that is not paused, naming the scope', async () => {
    const call = world();
    const all = await call('PUT /v1/admin/billing/pause', {}, { reason: 'audit' });
    expect(all).toEqual(refusal(409, 'CONFLICT', 'scope'));
    expect(all.body.message).toBe('billing is already paused for all tenants');
    const one = await call('PUT /v1/admin/tenants/{tenantId}/billing/pause', { tenantId: 'acme' }, { reason: 'audit' });
    expect(one.body.message).toBe('billing is already paused for tenant acme');
    expect(await call('PUT /v1/admin/billing/pause', {}, { reason: '' })).toEqual(refusal(400, 'INVALID_REQUEST', 'reason'));
    const resumeAll = await call('DELETE /v1/admin/billing/pause');
    expect(resumeAll).toEqual(refusal(404, 'NOT_FOUND', 'scope'));
    expect(resumeAll.body.message).toBe('billing is not paused for all tenants');
    expect((await call('DELETE /v1/admin/tenants/{tenantId}/billing/pause', { tenantId: 'acme' })).body.message).toBe(
      'billing is not paused for tenant acme',
    );
  });

  it('answers 404 for a plan or version that does not exist, 400 for a malformed plan id', async () => {
    const call = world();
    expect(await call('GET /v1/admin/plans/{planId}', { planId: 'growth' })).toEqual(refusal(404, 'NOT_FOUND', 'planId'));
    expect(await call('GET /v1/admin/plans/{planId}/versions', { planId: 'growth' })).toEqual(refusal(404, 'NOT_FOUND', 'planId'));
    expect(await call('GET /v1/admin/plans/{planId}', { planId: 'Not/A plan' })).toEqual(refusal(400, 'INVALID_REQUEST', 'planId'));
    expect(await call('POST /v1/admin/plans/{planId}/migrations', { planId: 'orders' }, { version: 7 })).toEqual(
      refusal(404, 'NOT_FOUND', 'version'),
    );
    expect(await call('POST /v1/admin/simulations', {}, { planId: 'orders', version: 7 })).toEqual(refusal(404, 'NOT_FOUND', 'version'));
    expect(await call('POST /v1/admin/simulations', {}, { planId: 'growth' })).toEqual(refusal(404, 'NOT_FOUND', 'planId'));
  });

  it('answers 409 when another writer published the same plan or version first', async () => {
    const call = world({ store: { publishPlan: async () => false, planVersions: async () => [] } });
    expect(await call('PUT /v1/admin/plans/{planId}', { planId: 'growth' }, orders)).toEqual(refusal(409, 'CONFLICT'));
    const raced = world({ store: { publishPlan: async () => false } });
    const res = await raced('POST /v1/admin/plans/{planId}/versions', { planId: 'orders' }, { ...orders, baseFee: '20.00' });
    expect(res).toEqual(refusal(409, 'CONFLICT'));
    expect(res.body.message).toBe('version 2 of plan orders was published meanwhile; read it and try again');
  });

  it('refuses a subscription request that cannot create one, and one another writer changed meanwhile', async () => {
    const call = world();
    const globex = { tenantId: 'globex' };
    expect(await call('GET /v1/admin/tenants/{tenantId}/subscription', globex)).toEqual(refusal(404, 'NOT_FOUND', 'tenantId'));
    const put = (body: unknown) => call('PUT /v1/admin/tenants/{tenantId}/subscription', globex, body);
    expect(await put({})).toEqual(refusal(400, 'INVALID_REQUEST', 'planId'));
    expect(await put({ planId: 'orders', effectiveAt: '2026-04-01T00:00:00Z' })).toEqual(refusal(400, 'INVALID_REQUEST', 'effectiveAt'));
    expect(await put({ planId: 'orders', cancelAtPeriodEnd: true })).toEqual(refusal(400, 'INVALID_REQUEST', 'cancelAtPeriodEnd'));
    expect(await put({ planId: 'growth' })).toEqual(refusal(404, 'NOT_FOUND', 'planId'));
    const raced = world({ store: { putSubscription: async () => false } });
    expect(await raced('PUT /v1/admin/tenants/{tenantId}/subscription', globex, { planId: 'orders' })).toEqual(refusal(409, 'CONFLICT'));
  });

  it('answers 404 for billing details, grants, quotas and invoices that do not exist', async () => {
    const call = world();
    const acme = { tenantId: 'acme' };
    expect(await call('GET /v1/admin/tenants/{tenantId}/billing-details', acme)).toEqual(refusal(404, 'NOT_FOUND', 'tenantId'));
    expect(await call('POST /v1/admin/tenants/{tenantId}/credits/{grantId}/void', { ...acme, grantId: 'g_nope' })).toEqual(
      refusal(404, 'NOT_FOUND', 'grantId'),
    );
    expect(await call('POST /v1/admin/tenants/{tenantId}/credits', acme, { amount: '5', meter: 'pages', source: 'manual' })).toEqual(
      refusal(404, 'NOT_FOUND', 'meter'),
    );
    expect(await call('PUT /v1/admin/tenants/{tenantId}/quotas/{meter}', { ...acme, meter: 'pages' }, { limit: '10' })).toEqual(
      refusal(404, 'NOT_FOUND', 'meter'),
    );
    expect(await call('DELETE /v1/admin/tenants/{tenantId}/quotas/{meter}', { ...acme, meter: 'orders' })).toEqual(
      refusal(404, 'NOT_FOUND', 'meter'),
    );
    expect(await call('PUT /v1/admin/tenants/{tenantId}/quotas/{meter}', { ...acme, meter: 'Bad Meter' }, { limit: '10' })).toEqual(
      refusal(400, 'INVALID_REQUEST', 'meter'),
    );
    expect(await call('POST /v1/admin/tenants/{tenantId}/invoices/{id}/status', { ...acme, id: 'inv_nope' }, { status: 'paid' })).toEqual(
      refusal(404, 'NOT_FOUND', 'id'),
    );
    expect(await call('POST /v1/admin/tenants/{tenantId}/invoices/{id}/status', { ...acme, id: 'inv_1' }, { status: 'draft' })).toEqual(
      refusal(400, 'INVALID_REQUEST', 'status'),
    );
  });

  it('refuses a grant to a tenant without a subscription, whose currency and meters a grant is in', async () => {
    const call = world();
    expect(await call('POST /v1/admin/tenants/{tenantId}/credits', { tenantId: 'globex' }, { amount: '5', source: 'manual' })).toEqual(
      refusal(409, 'CONFLICT'),
    );
  });

  it("answers the seller's unset details until an operator sets them", async () => {
    const res = await world()('GET /v1/admin/billing/seller');
    expect(res.status).toBe(200);
    expect(res.body).toEqual(expect.objectContaining({ name: expect.any(String) }));
  });
});

describe('billing admin API: migrations that cannot apply', () => {
  const v2: Plan = { id: 'orders', ...orders, baseFee: '20.00', version: 2, effectiveAt: new Date(now).toISOString() };
  const migrate = (store: Record<string, unknown>, body: unknown) =>
    world({ store: { planVersions: async () => [{ id: 'orders', ...orders }, v2], ...store } })(
      'POST /v1/admin/plans/{planId}/migrations',
      { planId: 'orders' },
      body,
    );

  it('lists a subscription another writer changed meanwhile as skipped, and migrates nothing', async () => {
    const res = await migrate({ putSubscription: async () => false }, { tenants: ['acme', 'globex'] });
    expect(res).toEqual({
      status: 200,
      body: {
        plan: 'orders',
        version: 2,
        migrated: [],
        skipped: [
          { tenantId: 'acme', reason: 'the subscription changed meanwhile' },
          { tenantId: 'globex', reason: 'no subscription' },
        ],
      },
    });
  });

  it('skips a listed subscription whose change would fall in a period already invoiced, saying why', async () => {
    // acme's March is invoiced already: a migration at an instant inside it would rewrite that invoice.
    const res = await migrate(
      { latestInvoice: async () => ({ periodEnd: '2026-04-01T00:00:00.000Z' }) },
      { tenants: ['acme'], at: '2026-03-20T00:00:00Z' },
    );
    expect(res.body.migrated).toEqual([]);
    expect(res.body.skipped).toEqual([{ tenantId: 'acme', reason: expect.stringContaining('2026-04-01') }]);
  });

  it('skips a listed subscription on the target version already, naming the plan', async () => {
    const res = await migrate({}, { tenants: ['acme'], version: 1 });
    expect(res.body.skipped).toEqual([{ tenantId: 'acme', reason: 'not on another version of plan orders that the request chooses' }]);
  });
});

describe('billing admin API: simulation refusals', () => {
  it('answers 404 for a tenant simulation on a tenant without a subscription', async () => {
    expect(await world()('POST /v1/admin/simulations', {}, { planId: 'orders', tenantId: 'globex' })).toEqual(
      refusal(404, 'NOT_FOUND', 'tenantId'),
    );
  });

  it('answers 400 for a job id that is no job id and 404 for one that names no job', async () => {
    const call = world();
    expect(await call('GET /v1/admin/simulations/{jobId}', { jobId: 'nope' })).toEqual(refusal(400, 'INVALID_REQUEST', 'jobId'));
    expect(await call('GET /v1/admin/simulations/{jobId}', { jobId })).toEqual(refusal(404, 'NOT_FOUND', 'jobId'));
  });

  it('refuses the CSV of a job that has not succeeded, and a part it does not have', async () => {
    const running = world({ simulation: job('running') });
    expect(await running('GET /v1/admin/simulations/{jobId}/csv', { jobId })).toEqual(refusal(409, 'CONFLICT', 'jobId'));
    const done = world({ simulation: job('succeeded', 41) });
    expect((await done('GET /v1/admin/simulations/{jobId}', { jobId })).body).toMatchObject({ status: 'succeeded', csvParts: 2 });
    expect(await done('GET /v1/admin/simulations/{jobId}/csv', { jobId }, undefined, { query: { part: '3' } })).toEqual(
      refusal(404, 'NOT_FOUND', 'part'),
    );
    expect(await done('GET /v1/admin/simulations/{jobId}/csv', { jobId }, undefined, { query: { part: '0' } })).toEqual(
      refusal(400, 'INVALID_REQUEST', 'part'),
    );
  });
});
