import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { api, createAdminKey, createTenant, startTestStack } from '../support/stack.js';

describe('billing admin API', () => {
  let stack: LocalStack;
  let admin: string;
  let tenant: string;
  beforeAll(async () => {
    stack = await startTestStack();
    admin = await createAdminKey(stack);
    tenant = await createTenant(stack, 'roofs');
  });
  afterAll(() => stack?.stop());

  it('defines plans as data, money exact whether spelled as a string or a JSON number', async () => {
    const tiered = {
      name: 'Tiered API',
      currency: 'EUR',
      interval: 'year',
      baseFee: '1200',
      prices: {
        api_calls: {
          model: 'graduated',
          tiers: [
            { upTo: '100000', unitPrice: '0' },
            { upTo: null, unitPrice: '0.00002' },
          ],
        },
      },
    };
    expect(await api(stack, 'PUT', '/v1/admin/plans/tiered-api', admin, tiered)).toMatchObject({ status: 200, body: { id: 'tiered-api' } });
    expect(await api(stack, 'GET', '/v1/admin/plans/tiered-api', admin)).toMatchObject({
      status: 200,
      body: { prices: { api_calls: { model: 'graduated' } } },
    });
    const plans = (await api(stack, 'GET', '/v1/admin/plans', admin)).body.plans.map((p: { id: string }) => p.id);
    expect(plans).toEqual(expect.arrayContaining(['base-199', 'starter', 'professional', 'enterprise', 'tiered-api']));
    expect(
      await api(stack, 'PUT', '/v1/admin/plans/bad', admin, { ...tiered, prices: { orders: { model: 'perUnit', unitPrice: 0.1 + 0.2 } } }),
    ).toMatchObject({
      status: 400,
      body: { code: 'INVALID_REQUEST', field: 'prices.orders.unitPrice' },
    });
    expect(await api(stack, 'GET', '/v1/admin/plans/nope', admin)).toMatchObject({ status: 404 });
    expect(await api(stack, 'PUT', '/v1/admin/plans/x', tenant, tiered)).toMatchObject({ status: 403 });
  });

  it('creates, changes and cancels a subscription, keeping its history', async () => {
    const path = '/v1/admin/tenants/roofs/subscription';
    expect(await api(stack, 'GET', '/v1/pricing', tenant)).toMatchObject({ status: 404 });
    expect(await api(stack, 'PUT', '/v1/admin/tenants/ghost/subscription', admin, { planId: 'starter' })).toMatchObject({
      status: 404,
      body: { field: 'tenantId' },
    });
    expect(await api(stack, 'PUT', path, admin, {})).toMatchObject({ status: 400, body: { field: 'planId' } });
    expect(await api(stack, 'PUT', path, admin, { planId: 'starter', taxRate: '0.2' })).toMatchObject({
      status: 201,
      body: { plans: [{ planId: 'starter' }], taxRate: '0.2' },
    });
    expect(await api(stack, 'PUT', path, admin, { planId: 'professional' })).toMatchObject({ status: 200 });
    expect(await api(stack, 'PUT', path, admin, { planId: 'tiered-api' })).toMatchObject({ status: 409, body: { field: 'planId' } });
    expect(await api(stack, 'PUT', path, admin, { trialDays: 3 })).toMatchObject({ status: 409 });
    const cancelled = await api(stack, 'PUT', path, admin, { cancelAtPeriodEnd: true });
    const today = new Date();
    const end = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() + 1, 1));
    end.setUTCDate(Math.min(today.getUTCDate(), new Date(Date.UTC(end.getUTCFullYear(), end.getUTCMonth() + 1, 0)).getUTCDate()));
    expect(cancelled.body.cancelAt).toBe(end.toISOString()); // started today: the period ends on this day next month
    const sub = (await api(stack, 'GET', path, admin)).body;
    expect(sub.history.map((h: { action: string }) => h.action)).toEqual(['created', 'plan_changed', 'cancel_scheduled']);
    expect(await api(stack, 'GET', '/v1/pricing', tenant)).toMatchObject({
      status: 200,
      body: { plan: { id: 'professional' }, subscription: { taxRate: '0.2', cancelAt: cancelled.body.cancelAt } },
    });
    const upcoming = await api(stack, 'GET', '/v1/invoices/upcoming', tenant);
    expect(upcoming.body.lines.filter((l: { kind: string }) => l.kind === 'base').map((l: { planId: string }) => l.planId)).toEqual([
      'starter',
      'professional',
    ]);
    expect(upcoming.body.taxRate).toBe('0.2');
  });

  it('counts distinct seats over a period that is not a calendar month (day markers)', async () => {
    const now = Date.now();
    const events = ['ann', 'bob', 'ann', 'cy'].map((user, i) => ({
      id: `seat-${i}`,
      meter: 'seats',
      timestamp: new Date(now - i * 1000).toISOString(),
      properties: { user_id: user },
    }));
    expect(await api(stack, 'POST', '/v1/events', tenant, events)).toMatchObject({ status: 202 });
    await stack.drained();
    const upcoming = await api(stack, 'GET', '/v1/invoices/upcoming', tenant);
    expect(upcoming.body.lines.find((l: { meter?: string }) => l.meter === 'seats')).toMatchObject({
      quantity: '3',
      included: '10',
      billable: '0',
    });
  });

  it('publishes a plan version the existing subscription keeps off until a migration moves it', async () => {
    const key = await createTenant(stack, 'versioned-co');
    const v1 = {
      name: 'Versioned',
      currency: 'USD',
      interval: 'month',
      baseFee: '10.00',
      prices: { orders: { model: 'perUnit', unitPrice: '0.10' } },
    };
    expect(await api(stack, 'PUT', '/v1/admin/plans/versioned', admin, v1)).toMatchObject({ status: 200, body: { id: 'versioned' } });
    expect(await api(stack, 'PUT', '/v1/admin/tenants/versioned-co/subscription', admin, { planId: 'versioned' })).toMatchObject({
      status: 201,
    });
    const v2 = await api(stack, 'POST', '/v1/admin/plans/versioned/versions', admin, { ...v1, baseFee: '20.00' });
    expect(v2).toMatchObject({ status: 201, body: { id: 'versioned', version: 2, baseFee: '20.00' } });
    expect((await api(stack, 'GET', '/v1/admin/plans/versioned/versions', admin)).body).toMatchObject({
      current: 2,
      versions: [{ baseFee: '10.00' }, { version: 2, baseFee: '20.00' }],
    });
    expect((await api(stack, 'GET', '/v1/invoices/upcoming', key)).body).toMatchObject({ planId: 'versioned', planVersion: 1 });

    const at = new Date(Date.now() + 1000).toISOString();
    const moved = await api(stack, 'POST', '/v1/admin/plans/versioned/migrations', admin, { tenants: ['versioned-co'], at });
    expect(moved).toMatchObject({
      status: 200,
      body: { migrated: [{ tenantId: 'versioned-co', from: 'versioned', to: 'versioned@2' }], skipped: [] },
    });
    expect((await api(stack, 'GET', '/v1/invoices/upcoming', key)).body).toMatchObject({ planId: 'versioned', planVersion: 2 });
    expect(await api(stack, 'POST', '/v1/admin/plans/versioned/migrations', tenant, {})).toMatchObject({ status: 403 });
    // Nothing invoiced yet: nothing to re-price.
    const simulation = await api(stack, 'POST', '/v1/admin/simulations', admin, {
      tenantId: 'versioned-co',
      planId: 'versioned',
      version: 1,
    });
    expect(simulation).toMatchObject({
      status: 200,
      body: { candidate: { planId: 'versioned', version: 1 }, periods: [], difference: '0.00' },
    });
  });
});
