import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operations, responses } from '../../functions/openapi/document.js';
import type { LocalStack } from '../../local/stack.js';
import { api, createAdminKey, createTenant, startTestStack } from '../support/stack.js';

/**
 * The OpenAPI document's response schemas against what the handlers answer: every GET route that names one is
 * called on the local stack for a tenant with a plan, an issued invoice, usage, a quota, credits and alerts, and its
 * body must satisfy the schema (the same zod schema the document and the generated client types are made from).
 */
let stack: LocalStack;
let key: string;
let admin: string;

const monthStart = () => {
  const d = new Date();
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
};
const lastMonthStart = () => {
  const d = new Date();
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 1, 1);
};
const recently = (i: number) => new Date(Math.max(monthStart(), Date.now() - 3_600_000) + i * 1_000).toISOString();

const plan = (name: string) => ({
  name,
  currency: 'USD',
  interval: 'month',
  baseFee: '49.00',
  prices: {
    orders: { model: 'perUnit', unitPrice: '0.10' },
    api_calls: { model: 'quota', included: '100', unitPrice: '0.02' },
    ai_jobs: {
      model: 'graduated',
      tiers: [
        { upTo: '2', unitPrice: '0.50' },
        { upTo: null, unitPrice: '0.25' },
      ],
    },
  },
  features: { exports: { kind: 'boolean', value: true }, calls: { kind: 'metered', meter: 'api_calls', limit: '1000' } },
  public: true,
});

beforeAll(async () => {
  stack = await startTestStack({ env: { GRACE_PERIOD_HOURS: '1' } });
  admin = await createAdminKey(stack);
  key = await createTenant(stack, 'contract');
  for (const [id, name] of [
    ['contract-basic', 'Basic'],
    ['contract-pro', 'Pro'],
  ] as const)
    expect((await api(stack, 'PUT', `/v1/admin/plans/${id}`, admin, plan(name))).status).toBeLessThan(300);
  const subscribed = await api(stack, 'PUT', '/v1/admin/tenants/contract/subscription', admin, {
    planId: 'contract-basic',
    startAt: new Date(lastMonthStart()).toISOString(),
  });
  expect(subscribed.status).toBe(201);
  // Last month closes into an invoice once its hour of grace is over.
  await stack.runSchedule('invoicing', new Date(Math.max(Date.now(), monthStart() + 2 * 3_600_000)));
  const posted = await api(stack, 'POST', '/v1/events', key, [
    ...Array.from({ length: 5 }, (_, i) => ({ id: `o-${i}`, meter: 'orders', timestamp: recently(i) })),
    ...Array.from({ length: 3 }, (_, i) => ({ id: `c-${i}`, meter: 'api_calls', timestamp: recently(i) })),
    ...['summary', 'extraction', 'summary'].map((jobType, i) => ({
      id: `j-${i}`,
      meter: 'ai_jobs',
      timestamp: recently(i),
      properties: { job_type: jobType },
    })),
  ]);
  expect(posted.status).toBe(202);
  await stack.drained();
  expect((await api(stack, 'PUT', '/v1/admin/tenants/contract/quotas/orders', admin, { limit: '1000' })).status).toBeLessThan(300);
  expect((await api(stack, 'POST', '/v1/admin/tenants/contract/credits', admin, { amount: '20', source: 'promotional' })).status).toBe(201);
  expect(
    (await api(stack, 'PUT', '/v1/alerts/many-orders', key, { kind: 'quantity', meter: 'orders', threshold: '3' })).status,
  ).toBeLessThan(300);
  expect((await api(stack, 'PUT', '/v1/alerts/odd-orders', key, { kind: 'anomaly', meter: 'orders' })).status).toBeLessThan(300);
  await stack.runSchedule('alert-evaluator', new Date());
}, 300_000);
afterAll(() => stack?.stop());

describe('the answers of the documented routes', () => {
  // Admin routes are called with the admin key, the others with the tenant's.
  const documented = Object.entries(operations)
    .filter(([route, op]) => route.startsWith('GET ') && op.response)
    .map(([route]) => route);

  /** Each documented GET route, with the path and query it is called with. */
  const calls = async (): Promise<Record<string, string>> => {
    const invoices = await api(stack, 'GET', '/v1/invoices', key);
    const id = invoices.body.invoices[0]?.id;
    expect(id).toBeDefined();
    const started = await api(stack, 'POST', '/v1/admin/simulations', admin, { planId: 'contract-pro', periods: 1 });
    expect(started.status).toBe(202);
    await stack.runSchedule('simulation-worker');
    return {
      'GET /v1/meters': '/v1/meters',
      'GET /v1/usage': '/v1/usage?meter=ai_jobs&granularity=hour&groupBy=job_type',
      'GET /v1/usage/current': '/v1/usage/current',
      'GET /v1/analytics': '/v1/analytics',
      'GET /v1/pricing': '/v1/pricing',
      'GET /v1/pricing/plans': '/v1/pricing/plans',
      'GET /v1/pricing/simulate': '/v1/pricing/simulate?plan=contract-pro',
      'GET /v1/quotas': '/v1/quotas',
      'GET /v1/quotas/{meter}': '/v1/quotas/orders?quantity=2',
      'GET /v1/entitlements': '/v1/entitlements',
      'GET /v1/entitlements/{feature}': '/v1/entitlements/calls',
      'GET /v1/credits': '/v1/credits',
      'GET /v1/invoices': '/v1/invoices',
      'GET /v1/invoices/upcoming': '/v1/invoices/upcoming',
      'GET /v1/invoices/{id}': `/v1/invoices/${id}`,
      'GET /v1/alerts': '/v1/alerts',
      'GET /v1/dashboard/session': '/v1/dashboard/session',
      'GET /v1/admin/console': '/v1/admin/console',
      'GET /v1/admin/quarantine': '/v1/admin/quarantine?limit=20',
      'GET /v1/admin/plans': '/v1/admin/plans',
      'GET /v1/admin/simulations/{jobId}': `/v1/admin/simulations/${started.body.jobId}`,
    };
  };

  it('calls every GET route that names a response schema, and each answer satisfies it', async () => {
    const paths = await calls();
    expect(Object.keys(paths).sort()).toEqual([...documented].sort());
    const problems: string[] = [];
    for (const route of documented) {
      const r = await api(stack, 'GET', paths[route]!, route.startsWith('GET /v1/admin/') ? admin : key);
      expect(r.status, `${route}: ${JSON.stringify(r.body)}`).toBe(200);
      const parsed = responses[operations[route]!.response!].safeParse(r.body);
      if (!parsed.success) problems.push(`${route}: ${JSON.stringify(parsed.error.issues)}`);
    }
    expect(problems).toEqual([]);
  });

  it('catches an answer that drifted from its schema', () => {
    const drifted = { meters: [{ key: 'orders', name: 'Orders', aggregation: 'COUNT', groupBy: [] }] };
    expect(responses.Meters.safeParse(drifted).success).toBe(false);
  });
});
