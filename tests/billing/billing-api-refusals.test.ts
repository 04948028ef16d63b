import { describe, expect, it } from 'vitest';
import { createBillingApi } from '../../functions/billing/billing.js';
import { httpEvent } from '../../local/http-event.js';
import { lambdaContext } from '../../local/lambda.js';
import { seedPlans } from '../../shared/billing/plans.js';
import { changeSubscription, newSubscription, type Subscription } from '../../shared/billing/subscriptions.js';
import { seedMeters } from '../../shared/metering/seed-meters.js';

const t = (s: string) => Date.parse(s);
const now = t('2026-03-10T00:00:00Z');
const started = (startAt: string) =>
  newSubscription({ tenantId: 'acme', planId: 'starter', interval: 'month', currency: 'USD', startAt: t(startAt), now: t(startAt) });
const ended = changeSubscription(
  started('2026-01-01T00:00:00Z'),
  { cancelAtPeriodEnd: true },
  { now: t('2026-01-10T00:00:00Z'), notBefore: 0 },
);

/** The tenant billing API over a store that holds `sub` (or none), no invoices and the seed plans, one of them private. */
function world(sub?: Subscription) {
  const plans = seedPlans.map((p) => (p.id === 'enterprise' ? { ...p, public: false } : { ...p, public: true }));
  const api = createBillingApi({
    store: {
      getSubscription: async () => sub,
      latestInvoice: async () => undefined,
      listInvoices: async () => ({ invoices: [] }),
      getInvoice: async () => undefined,
      listQuotas: async () => [],
      getSeller: async () => undefined,
      getCustomer: async () => undefined,
      credits: async () => ({ grants: [], entries: [] }),
      progressiveInvoices: async () => [],
      listPlans: async () => plans,
      planVersions: async (id: string) => plans.filter((p) => p.id === id),
    } as never,
    tenantName: async () => 'Acme',
    reads: { plan: async (id) => plans.find((p) => p.id === id), meters: async () => seedMeters, quantity: async () => '0' },
    quotaReads: {} as never,
    now: () => now,
  });
  return async (routeKey: string, o: { path?: Record<string, string>; query?: Record<string, string>; admin?: boolean } = {}) => {
    const res = await api(httpEvent({ routeKey, tenantId: 'acme', ...o }), lambdaContext('billing'));
    return { status: res.statusCode, body: JSON.parse(res.body as string) };
  };
}

const refusal = (status: number, code: string, field?: string) => ({
  status,
  body: { code, message: expect.any(String), ...(field ? { field } : {}) },
});

describe('tenant billing API: refusals', () => {
  it('refuses an admin key: these routes answer for the tenant of the key', async () => {
    expect(await world()('GET /v1/quotas', { admin: true })).toEqual(refusal(403, 'FORBIDDEN'));
  });

  it('answers 404 for a tenant without a subscription on the routes that need one', async () => {
    const get = world();
    for (const route of ['GET /v1/credits', 'GET /v1/invoices/upcoming', 'GET /v1/pricing', 'GET /v1/analytics']) {
      const res = await get(route);
      expect(res, route).toEqual(refusal(404, 'NOT_FOUND'));
      expect(res.body.message).toBe('this tenant has no subscription');
    }
  });

  it('answers 404 naming the id for an invoice that does not exist, in every form', async () => {
    const get = world(started('2026-01-01T00:00:00Z'));
    for (const route of ['GET /v1/invoices/{id}', 'GET /v1/invoices/{id}/html', 'GET /v1/invoices/{id}/pdf']) {
      expect(await get(route, { path: { id: 'inv_nope' } }), route).toEqual(refusal(404, 'NOT_FOUND', 'id'));
    }
  });

  it('refuses a malformed page size, cursor, quantity or feature key with 400 naming it', async () => {
    const get = world(started('2026-01-01T00:00:00Z'));
    expect(await get('GET /v1/invoices', { query: { limit: '0' } })).toEqual(refusal(400, 'INVALID_REQUEST', 'limit'));
    expect(await get('GET /v1/invoices', { query: { cursor: 'yesterday' } })).toEqual(refusal(400, 'INVALID_REQUEST', 'cursor'));
    expect(await get('GET /v1/quotas/{meter}', { path: { meter: 'api_calls' }, query: { quantity: 'lots' } })).toEqual(
      refusal(400, 'INVALID_REQUEST', 'quantity'),
    );
    expect(await get('GET /v1/entitlements/{feature}', { path: { feature: 'Not A Feature' } })).toEqual(
      refusal(400, 'INVALID_REQUEST', 'feature'),
    );
  });

  it('answers 404 for a quota check on a meter without a quota, and no access for a feature the plan lacks', async () => {
    const get = world(started('2026-01-01T00:00:00Z'));
    const quota = await get('GET /v1/quotas/{meter}', { path: { meter: 'invoices' } });
    expect(quota).toEqual(refusal(404, 'NOT_FOUND', 'meter'));
    expect(quota.body.message).toBe('there is no quota on meter "invoices"');
    const feature = await get('GET /v1/entitlements/{feature}', { path: { feature: 'time_travel' } });
    expect(feature).toMatchObject({ status: 200, body: { feature: 'time_travel', hasAccess: false } });
  });

  it('answers 404 for the upcoming invoice and analytics of a subscription that ended or has not started', async () => {
    const over = world(ended);
    for (const route of ['GET /v1/invoices/upcoming', 'GET /v1/analytics']) {
      const res = await over(route);
      expect(res, route).toEqual(refusal(404, 'NOT_FOUND'));
      expect(res.body.message).toBe('the subscription ended at 2026-02-01T00:00:00.000Z');
    }
    const future = await world(started('2026-04-01T00:00:00Z'))('GET /v1/invoices/upcoming');
    expect(future.body.message).toBe('the subscription starts at 2026-04-01T00:00:00.000Z');
  });

  it('shows an ended subscription its plan and end, without a current period', async () => {
    const { status, body } = await world(ended)('GET /v1/pricing');
    expect(status).toBe(200);
    expect(body.subscription).toMatchObject({ cancelAt: '2026-02-01T00:00:00.000Z', timeZone: 'UTC' });
    expect(body.currentPeriod).toBeUndefined();
  });

  it('refuses to simulate a plan that is not public or does not exist, naming the plan', async () => {
    const get = world(started('2026-01-01T00:00:00Z'));
    expect(await get('GET /v1/pricing/simulate', { query: { plan: 'enterprise' } })).toEqual(refusal(404, 'NOT_FOUND', 'plan'));
    expect(await get('GET /v1/pricing/simulate', { query: { plan: 'nope' } })).toEqual(refusal(404, 'NOT_FOUND', 'plan'));
    const plans = await get('GET /v1/pricing/plans');
    expect(plans.body.plans.map((p: { id: string }) => p.id)).not.toContain('enterprise');
  });
});
