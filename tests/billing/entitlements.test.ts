import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApi } from '../../functions/billing/billing.js';
import { httpEvent } from '../../local/http-event.js';
import { lambdaContext } from '../../local/lambda.js';
import type { LocalStack } from '../../local/stack.js';
import { type Entitlement, effectiveQuotas, entitlement, featuresSchema } from '../../shared/billing/entitlements.js';
import { seedPlans } from '../../shared/billing/plans.js';
import { changeSubscription, newSubscription, type Subscription } from '../../shared/billing/subscriptions.js';
import { seedMeters } from '../../shared/metering/seed-meters.js';
import { issueApiKey } from '../../shared/tenancy/api-keys.js';
import { api, createAdminKey, createTenant, directoryOf, startTestStack } from '../support/stack.js';

/** Seed 003's plans, as its `subscription_plans` INSERT lists them: slug → features. */
function seed003Features(): Map<string, Record<string, unknown>> {
  const sql = readFileSync(resolve(import.meta.dirname, '..', 'fixtures', 'seeds', '003-plans.sql'), 'utf8');
  const rows = [...sql.matchAll(/\('\w+', '(\w+)', \d+, '\w+',\s*'(\{[^']*\})'/g)];
  return new Map(rows.map(([, slug, features]) => [slug!, JSON.parse(features!) as Record<string, unknown>]));
}

/** An entitlement as the seed writes a feature: the limit of a metered one, the value of the others. */
const asSeedValue = (e: Entitlement) => (e.kind === 'metered' ? e.limit : e.value);
/** The seed's JSON numbers as Meterline's decimal strings. */
const decimalStrings = (features: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(features).map(([k, v]) => [k, typeof v === 'number' ? String(v) : v]));

const starter = seedPlans.find((p) => p.id === 'starter')!;

describe('entitlement arithmetic', () => {
  const period = { start: Date.UTC(2026, 2, 1), end: Date.UTC(2026, 3, 1) };

  it('answers each kind: boolean, static value, metered with usage, remaining and reset', () => {
    expect(entitlement('sso', { kind: 'boolean', value: true })).toEqual({ feature: 'sso', kind: 'boolean', hasAccess: true, value: true });
    expect(entitlement('users', { kind: 'static', value: 'unlimited' })).toMatchObject({ hasAccess: true, value: 'unlimited' });
    const calls = { kind: 'metered', meter: 'api_calls', limit: '1000' } as const;
    expect(entitlement('api_calls_per_month', calls, { usage: '999.5', period })).toEqual({
      feature: 'api_calls_per_month',
      kind: 'metered',
      hasAccess: true,
      meter: 'api_calls',
      usage: '999.5',
      limit: '1000',
      remaining: '0.5',
      resetsAt: '2026-04-01T00:00:00.000Z',
    });
    expect(entitlement('api_calls_per_month', calls, { usage: '1000', period })).toMatchObject({ hasAccess: false, remaining: '0' });
    expect(entitlement('api_calls_per_month', { ...calls, limit: 'unlimited' }, { usage: '5000000', period })).toMatchObject({
      hasAccess: true,
      limit: 'unlimited',
      remaining: 'unlimited',
    });
    // An admin's quota for the tenant wins over the plan's limit, and says so.
    const override = { meter: 'api_calls', limit: '5000', updatedAt: '2026-03-02T00:00:00.000Z' };
    expect(entitlement('api_calls_per_month', calls, { usage: '1200', period, override })).toMatchObject({
      hasAccess: true,
      limit: '5000',
      remaining: '3800',
      override: true,
    });
  });

  it("makes a plan's metered features the hard quotas, an admin's quota replacing the plan's on its meter", () => {
    const override = { meter: 'estimates', limit: '75', updatedAt: '2026-03-02T00:00:00.000Z' };
    const storage = { meter: 'storage_gb', limit: '10', updatedAt: '2026-03-02T00:00:00.000Z' };
    expect(effectiveQuotas(starter.features, [override, storage], '2026-03-01T00:00:00.000Z')).toEqual([
      { meter: 'api_calls', limit: '1000', updatedAt: '2026-03-01T00:00:00.000Z', source: 'plan', feature: 'api_calls_per_month' },
      { ...override, source: 'override', feature: 'estimates_per_month' },
      { ...storage, source: 'override' },
    ]);
    // Unlimited metered features cap nothing.
    expect(effectiveQuotas(seedPlans.find((p) => p.id === 'enterprise')!.features, [], '')).toEqual([]);
  });

  it('refuses a plan whose two metered features limit the same meter, and malformed features', () => {
    const twice = featuresSchema.safeParse({
      a: { kind: 'metered', meter: 'api_calls', limit: '1' },
      b: { kind: 'metered', meter: 'api_calls', limit: '2' },
    });
    expect(twice.success).toBe(false);
    expect(featuresSchema.safeParse({ Bad: { kind: 'boolean', value: true } }).success).toBe(false);
    expect(featuresSchema.safeParse({ users: { kind: 'static', value: 3 } }).success).toBe(false);
    expect(featuresSchema.safeParse({ calls: { kind: 'metered', meter: 'api_calls', limit: '-1' } }).success).toBe(false);
  });
});

describe('a mid-period plan upgrade switches entitlements at the moment it takes effect', () => {
  // Starter from March 1; an upgrade to Enterprise scheduled for March 15, 12:00.
  const switchAt = Date.UTC(2026, 2, 15, 12);
  let sub: Subscription = newSubscription({
    tenantId: 'acme',
    planId: 'starter',
    interval: 'month',
    currency: 'USD',
    startAt: Date.UTC(2026, 2, 1),
    now: Date.UTC(2026, 2, 1),
  });
  sub = changeSubscription(
    sub,
    { planId: 'enterprise', effectiveAt: new Date(switchAt).toISOString() },
    { now: Date.UTC(2026, 2, 10), notBefore: Date.UTC(2026, 2, 1) },
  );
  let now = 0;
  const handler = createBillingApi({
    store: {
      getSubscription: async () => sub,
      listQuotas: async () => [],
      latestInvoice: async () => undefined,
      listInvoices: async () => ({ invoices: [] }),
      getInvoice: async () => undefined,
      getSeller: async () => undefined,
      getCustomer: async () => undefined,
      credits: async () => ({ grants: [], entries: [] }),
      progressiveInvoices: async () => [],
      listPlans: async () => seedPlans,
      planVersions: async (id) => seedPlans.filter((p) => p.id === id),
    },
    tenantName: async () => 'Acme',
    reads: {
      plan: async (id) => seedPlans.find((p) => p.id === id),
      meters: async () => seedMeters,
      quantity: async () => '1500',
    },
    quotaReads: { quantity: async () => '1500', level: async () => '0' },
    now: () => now,
  });
  const get = async (routeKey: string, path?: Record<string, string>) => {
    const res = await handler(httpEvent({ routeKey, tenantId: 'acme', ...(path ? { path } : {}) }), lambdaContext('billing'));
    return JSON.parse(res.body as string);
  };

  it('one millisecond before, Starter: no SSO, API calls over their 1,000; at the switch, Enterprise', async () => {
    now = switchAt - 1;
    expect(await get('GET /v1/entitlements/{feature}', { feature: 'sso' })).toMatchObject({ planId: 'starter', hasAccess: false });
    expect(await get('GET /v1/entitlements/{feature}', { feature: 'api_calls_per_month' })).toMatchObject({
      hasAccess: false,
      usage: '1500',
      limit: '1000',
      remaining: '0',
    });
    expect(await get('GET /v1/quotas/{meter}', { meter: 'api_calls' })).toMatchObject({ limit: '1000', allowed: false, source: 'plan' });

    now = switchAt;
    expect(await get('GET /v1/entitlements/{feature}', { feature: 'sso' })).toMatchObject({ planId: 'enterprise', hasAccess: true });
    expect(await get('GET /v1/entitlements/{feature}', { feature: 'api_calls_per_month' })).toMatchObject({
      hasAccess: true,
      limit: 'unlimited',
    });
    // Enterprise caps nothing: the plan's quota went with the plan.
    expect((await get('GET /v1/quotas')).quotas).toEqual([]);
  });
});

describe('entitlements API', () => {
  let stack: LocalStack;
  let admin: string;
  const keys: Record<string, string> = {};
  const seed = seed003Features();

  beforeAll(async () => {
    stack = await startTestStack();
    admin = await createAdminKey(stack);
    for (const plan of ['starter', 'professional', 'enterprise']) {
      const tenant = `ent-${plan}`;
      keys[plan] = await createTenant(stack, tenant);
      expect(await api(stack, 'PUT', `/v1/admin/tenants/${tenant}/subscription`, admin, { planId: plan })).toMatchObject({ status: 201 });
    }
  });
  afterAll(() => stack?.stop());

  it("seed 003's three plans answer GET /v1/entitlements with exactly the seed's features", async () => {
    expect([...seed.keys()]).toEqual(['starter', 'professional', 'enterprise']);
    for (const [plan, features] of seed) {
      const res = await api(stack, 'GET', '/v1/entitlements', keys[plan]);
      expect(res.status).toBe(200);
      expect(res.body.planId).toBe(plan);
      const answered = Object.fromEntries(res.body.entitlements.map((e: Entitlement) => [e.feature, asSeedValue(e)]));
      expect(answered).toEqual(decimalStrings(features));
    }
  });

  it('answers tenant keys, read keys and service keys naming ?tenant=; a feature the plan lacks is not included', async () => {
    const directory = directoryOf(stack);
    const read = (await issueApiKey(directory, { tenantId: 'ent-professional' }, 'read', Date.now(), { scope: 'read' })).token;
    const service = (await issueApiKey(directory, { service: true }, 'product', Date.now())).token;
    expect(await api(stack, 'GET', '/v1/entitlements/advanced_reporting', read)).toMatchObject({
      status: 200,
      body: { feature: 'advanced_reporting', kind: 'boolean', hasAccess: true, value: true },
    });
    expect(await api(stack, 'GET', '/v1/entitlements/sso?tenant=ent-professional', service)).toMatchObject({
      status: 200,
      body: { feature: 'sso', hasAccess: false },
    });
    expect(await api(stack, 'GET', '/v1/entitlements/sso?tenant=ent-enterprise', service)).toMatchObject({
      status: 200,
      body: { feature: 'sso', hasAccess: true },
    });
    expect(await api(stack, 'GET', '/v1/entitlements/users', keys.starter)).toMatchObject({
      body: { kind: 'static', hasAccess: true, value: '3' },
    });
    expect(await api(stack, 'GET', '/v1/entitlements', service)).toMatchObject({
      status: 400,
      body: { code: 'INVALID_REQUEST', field: 'tenant' },
    });
    expect(await api(stack, 'GET', '/v1/entitlements/Not-A-Feature', keys.starter)).toMatchObject({
      status: 400,
      body: { field: 'feature' },
    });
  });

  it("counts a metered feature's usage this period, and shows an admin's quota as an override", async () => {
    const at = new Date().toISOString();
    const events = Array.from({ length: 3 }, (_, i) => ({ id: `est-${i}`, meter: 'estimates', timestamp: at }));
    expect(await api(stack, 'POST', '/v1/events', keys.starter, events)).toMatchObject({ status: 202 });
    await stack.drained();
    expect(await api(stack, 'GET', '/v1/entitlements/estimates_per_month', keys.starter)).toMatchObject({
      body: { kind: 'metered', meter: 'estimates', usage: '3', limit: '50', remaining: '47', hasAccess: true },
    });
    expect(await api(stack, 'GET', '/v1/quotas/estimates?quantity=47', keys.starter)).toMatchObject({
      body: { limit: '50', allowed: true, source: 'plan' },
    });
    expect(await api(stack, 'PUT', '/v1/admin/tenants/ent-starter/quotas/estimates', admin, { limit: '3' })).toMatchObject({ status: 200 });
    expect(await api(stack, 'GET', '/v1/entitlements/estimates_per_month', keys.starter)).toMatchObject({
      body: { limit: '3', remaining: '0', hasAccess: false, override: true },
    });
    expect(await api(stack, 'GET', '/v1/quotas/estimates', keys.starter)).toMatchObject({ body: { limit: '3', source: 'override' } });
  });
});
