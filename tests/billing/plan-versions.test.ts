import { describe, expect, it } from 'vitest';
import { createBillingAdminApi } from '../../functions/billing-admin/billing-admin.js';
import { httpEvent } from '../../local/http-event.js';
import { lambdaContext } from '../../local/lambda.js';
import { draftInvoice } from '../../shared/billing/invoice-drafts.js';
import { isMigrated, migrationInstant, nextVersion, refFor, sameDefinition } from '../../shared/billing/plan-versions.js';
import { type Plan, type PlanDefinition, parsePlanRef, versionOf } from '../../shared/billing/plans.js';
import type { BillingReads } from '../../shared/billing/ports.js';
import { newSubscription, periodAt, type Subscription } from '../../shared/billing/subscriptions.js';
import { seedMeters } from '../../shared/metering/seed-meters.js';

const t = (s: string) => Date.parse(s);
const v1: PlanDefinition = {
  name: 'Orders',
  currency: 'USD',
  interval: 'month',
  baseFee: '10.00',
  prices: { orders: { model: 'perUnit', unitPrice: '0.10' } },
};
const v2: PlanDefinition = { ...v1, baseFee: '20.00', prices: { orders: { model: 'perUnit', unitPrice: '0.25' } } };

/** The admin API on an in-memory store; every tenant has 100 orders in every period. */
function world() {
  const plans = new Map<string, Plan>();
  const subs = new Map<string, Subscription>();
  let now = t('2026-03-10T00:00:00Z');
  const store = {
    getPlan: async (ref: string) => plans.get(ref),
    listPlans: async () => [...plans.values()].filter((p) => versionOf(p) === 1),
    planVersions: async (id: string) => [...plans.values()].filter((p) => p.id === id).sort((a, b) => versionOf(a) - versionOf(b)),
    publishPlan: async (plan: Plan) => {
      const ref = versionOf(plan) === 1 ? plan.id : `${plan.id}@${plan.version}`;
      if (plans.has(ref)) return false;
      plans.set(ref, plan);
      return true;
    },
    getSubscription: async (tenantId: string) => subs.get(tenantId),
    putSubscription: async (sub: Subscription) => {
      if ((subs.get(sub.tenantId)?.version ?? 0) !== sub.version) return false;
      subs.set(sub.tenantId, { ...sub, version: sub.version + 1 });
      return true;
    },
    subscriptionPages: async function* () {
      yield [...subs.values()];
    },
    latestInvoice: async () => undefined,
  };
  const reads: BillingReads = { plan: store.getPlan, meters: async () => seedMeters, quantity: async () => '100' };
  const api = createBillingAdminApi({
    store: store as never,
    reads,
    tenantExists: async () => true,
    publish: async () => {},
    defaultAlerts: async () => {},
    meters: async () => seedMeters,
    simulations: {} as never,
    newId: () => 'unused',
    now: () => now,
  });
  const call = async (routeKey: string, path: Record<string, string>, body?: unknown) => {
    const res = await api(
      httpEvent({ routeKey, admin: true, path, ...(body !== undefined ? { body } : {}) }),
      lambdaContext('billing-admin'),
    );
    return { status: res.statusCode, body: JSON.parse(res.body as string) };
  };
  /** The draft of the period holding `at` (default: the current one), as the invoice job will close it. */
  const invoice = async (tenantId: string, at = now) => {
    const sub = subs.get(tenantId)!;
    const draft = await draftInvoice(reads, sub, periodAt(sub, at), []);
    return { total: draft.total, planVersion: draft.planVersion };
  };
  return { call, invoice, subs, setNow: (n: number) => (now = n) };
}

async function subscribed(tenants: string[]) {
  const w = world();
  expect(await w.call('PUT /v1/admin/plans/{planId}', { planId: 'orders' }, v1)).toMatchObject({ status: 200 });
  for (const [i, tenantId] of tenants.entries()) {
    const startAt = new Date(t('2026-01-01T00:00:00Z') + i * 86_400_000).toISOString();
    const res = await w.call('PUT /v1/admin/tenants/{tenantId}/subscription', { tenantId }, { planId: 'orders', startAt });
    expect(res.status).toBe(201);
  }
  return w;
}

describe('plan versions', () => {
  const tenants = ['t-a', 't-b', 't-c', 't-d'];

  it('publishing a version leaves every existing subscription’s next invoice unchanged; new subscriptions take it', async () => {
    const w = await subscribed(tenants);
    // 100 orders at $0.10 and a $10 base fee.
    const before = await Promise.all(tenants.map((id) => w.invoice(id)));
    expect(before.map((i) => i.total)).toEqual(['20.00', '20.00', '20.00', '20.00']);

    const published = await w.call('POST /v1/admin/plans/{planId}/versions', { planId: 'orders' }, v2);
    expect(published).toMatchObject({ status: 201, body: { id: 'orders', version: 2, effectiveAt: '2026-03-10T00:00:00.000Z' } });
    expect(await Promise.all(tenants.map((id) => w.invoice(id)))).toEqual(before);
    // The period after too: grandfathered until migrated.
    expect(await Promise.all(tenants.map((id) => w.invoice(id, t('2026-05-15T00:00:00Z'))))).toEqual(before);

    // A new subscription is on version 2: $20 + 100 × $0.25.
    await w.call('PUT /v1/admin/tenants/{tenantId}/subscription', { tenantId: 't-new' }, { planId: 'orders' });
    expect(await w.invoice('t-new')).toEqual({ total: '45.00', planVersion: 2 });
    // Naming the plan again does not move a grandfathered subscription to the new version: a migration does.
    await w.call('PUT /v1/admin/tenants/{tenantId}/subscription', { tenantId: 't-a' }, { planId: 'orders', taxRate: '0' });
    expect(await w.invoice('t-a')).toEqual(before[0]);

    expect(await w.call('GET /v1/admin/plans/{planId}', { planId: 'orders' })).toMatchObject({ body: { version: 2, baseFee: '20.00' } });
    expect((await w.call('GET /v1/admin/plans/{planId}/versions', { planId: 'orders' })).body).toMatchObject({
      current: 2,
      versions: [{ baseFee: '10.00' }, { version: 2, baseFee: '20.00' }],
    });
  });

  it('a PUT of the same definition publishes nothing; a changed one publishes the next version', async () => {
    const w = await subscribed(['t-a']);
    expect(await w.call('PUT /v1/admin/plans/{planId}', { planId: 'orders' }, v1)).toMatchObject({ status: 200, body: { id: 'orders' } });
    expect((await w.call('GET /v1/admin/plans/{planId}/versions', { planId: 'orders' })).body.versions).toHaveLength(1);
    expect(await w.call('PUT /v1/admin/plans/{planId}', { planId: 'orders' }, v2)).toMatchObject({ body: { version: 2 } });
    expect(await w.invoice('t-a')).toEqual({ total: '20.00', planVersion: 1 });
  });

  it('refuses a version in another currency or interval, in the past, or before the latest', async () => {
    const w = await subscribed([]);
    const post = (body: unknown) => w.call('POST /v1/admin/plans/{planId}/versions', { planId: 'orders' }, body);
    expect(await post({ ...v2, currency: 'EUR' })).toMatchObject({ status: 409, body: { code: 'CONFLICT', field: 'currency' } });
    expect(await post({ ...v2, interval: 'year' })).toMatchObject({ status: 409, body: { field: 'interval' } });
    expect(await post({ ...v2, effectiveAt: '2026-03-01T00:00:00Z' })).toMatchObject({ status: 400, body: { field: 'effectiveAt' } });
    expect(await post({ ...v2, effectiveAt: '2026-06-01T00:00:00Z' })).toMatchObject({ status: 201, body: { version: 2 } });
    expect(await post({ ...v2, effectiveAt: '2026-05-01T00:00:00Z' })).toMatchObject({ status: 409, body: { field: 'effectiveAt' } });
    expect(await post({ ...v2, prices: { orders: { model: 'perUnit', unitPrice: 0.1 + 0.2 } } })).toMatchObject({
      status: 400,
      body: { field: 'prices.orders.unitPrice' },
    });
    expect(await w.call('POST /v1/admin/plans/{planId}/versions', { planId: 'nope' }, v2)).toMatchObject({ status: 404 });
  });

  it('a migration at the next boundary changes exactly the migrated subscriptions’ invoices, from that period on', async () => {
    const w = await subscribed(tenants);
    await w.call('POST /v1/admin/plans/{planId}/versions', { planId: 'orders' }, v2);
    const current = await Promise.all(tenants.map((id) => w.invoice(id)));
    const next = await Promise.all(tenants.map((id) => w.invoice(id, t('2026-04-20T00:00:00Z'))));

    const res = await w.call('POST /v1/admin/plans/{planId}/migrations', { planId: 'orders' }, { tenants: ['t-b', 't-d', 't-zz'] });
    expect(res).toMatchObject({ status: 200, body: { plan: 'orders', version: 2 } });
    // Each at its own boundary: t-b's periods start on the 2nd, t-d's on the 4th.
    expect(res.body.migrated).toEqual([
      { tenantId: 't-b', from: 'orders', to: 'orders@2', effectiveAt: '2026-04-02T00:00:00.000Z' },
      { tenantId: 't-d', from: 'orders', to: 'orders@2', effectiveAt: '2026-04-04T00:00:00.000Z' },
    ]);
    expect(res.body.skipped).toEqual([{ tenantId: 't-zz', reason: 'no subscription' }]);

    expect(await Promise.all(tenants.map((id) => w.invoice(id)))).toEqual(current);
    const after = await Promise.all(tenants.map((id) => w.invoice(id, t('2026-04-20T00:00:00Z'))));
    const changed = tenants.filter((_, i) => JSON.stringify(after[i]) !== JSON.stringify(next[i]));
    expect(changed).toEqual(['t-b', 't-d']);
    expect(after[1]).toEqual({ total: '45.00', planVersion: 2 });

    // A second run finds them on the target already.
    const again = await w.call(
      'POST /v1/admin/plans/{planId}/migrations',
      { planId: 'orders' },
      { fromVersions: [1], at: '2026-05-01T00:00:00Z' },
    );
    expect(again.body.migrated.map((m: { tenantId: string }) => m.tenantId)).toEqual(['t-a', 't-c']);
    expect(parsePlanRef(w.subs.get('t-a')!.plans.at(-1)!.planId)).toEqual({ planId: 'orders', version: 2 });
  });

  it('a migration at an instant inside a period prorates the base fee as a plan change does', async () => {
    const w = await subscribed(['t-a']);
    await w.call('POST /v1/admin/plans/{planId}/versions', { planId: 'orders' }, v2);
    // t-a's period is March 1 to April 1 (31 days); from March 16, 16 days on version 2.
    await w.call('POST /v1/admin/plans/{planId}/migrations', { planId: 'orders' }, { at: '2026-03-16T00:00:00Z' });
    // $10 × 15/31 = 4.84 + $20 × 16/31 = 10.32, and 100 orders at version 2's $0.25 (the version in force at the end).
    expect(await w.invoice('t-a')).toEqual({ total: '40.16', planVersion: 2 });
  });

  it('refuses a migration to a version that does not exist or before it takes effect', async () => {
    const w = await subscribed(['t-a']);
    await w.call('POST /v1/admin/plans/{planId}/versions', { planId: 'orders' }, { ...v2, effectiveAt: '2026-06-01T00:00:00Z' });
    const migrate = (body: unknown) => w.call('POST /v1/admin/plans/{planId}/migrations', { planId: 'orders' }, body);
    expect(await migrate({ version: 3 })).toMatchObject({ status: 404, body: { field: 'version' } });
    expect(await migrate({ at: '2026-04-01T00:00:00Z' })).toMatchObject({ status: 409, body: { field: 'at' } });
    expect(await migrate({ at: 'tomorrow' })).toMatchObject({ status: 400, body: { field: 'at' } });
    // At the next boundary: the first one once version 2 is in effect.
    expect((await migrate({})).body.migrated).toEqual([
      { tenantId: 't-a', from: 'orders', to: 'orders@2', effectiveAt: '2026-06-01T00:00:00.000Z' },
    ]);
  });
});

describe('versions of a plan, by hand', () => {
  const first: Plan = { id: 'orders', ...v1 };
  const second: Plan = { id: 'orders', ...v2, version: 2, effectiveAt: '2026-04-01T00:00:00.000Z' };
  const refusal = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      const e = error as { code: string; field?: string };
      return [e.code, e.field];
    }
    return undefined;
  };
  /** A monthly subscription to the orders plan (its first version), starting at `startAt`. */
  const ordersSubscription = (startAt: string, now = t(startAt)) =>
    newSubscription({ tenantId: 'acme', planId: 'orders', interval: 'month', currency: 'USD', startAt: t(startAt), now });

  it('takes a definition with its keys in another order, tiers included, as the same: a repeated PUT publishes nothing', () => {
    const tiered: PlanDefinition = {
      ...v1,
      prices: {
        orders: {
          model: 'graduated',
          tiers: [
            { upTo: '100', unitPrice: '0.10' },
            { upTo: null, unitPrice: '0.05' },
          ],
        } as never,
      },
    };
    const reordered = JSON.parse(
      JSON.stringify({ prices: tiered.prices, interval: 'month', currency: 'USD', baseFee: '10.00', name: 'Orders' }),
    );
    expect(sameDefinition({ id: 'orders', ...tiered, version: 3 }, reordered)).toBe(true);
    expect(sameDefinition({ id: 'orders', ...tiered }, { ...reordered, baseFee: '10.01' })).toBe(false);
  });

  it('refuses a version that changes currency or interval, takes effect in the past, or precedes the latest', () => {
    const now = t('2026-03-10T00:00:00Z');
    expect(refusal(() => nextVersion([first], { ...v2, currency: 'EUR' }, now, now))).toEqual(['CONFLICT', 'currency']);
    expect(refusal(() => nextVersion([first], { ...v2, interval: 'year' }, now, now))).toEqual(['CONFLICT', 'interval']);
    expect(refusal(() => nextVersion([first], v2, now - 1, now))).toEqual(['INVALID_REQUEST', 'effectiveAt']);
    expect(refusal(() => nextVersion([first, second], v2, t('2026-03-20T00:00:00Z'), now))).toEqual(['CONFLICT', 'effectiveAt']);
    expect(nextVersion([first, second], v1, t('2026-05-01T00:00:00Z'), now)).toMatchObject({
      version: 3,
      effectiveAt: '2026-05-01T00:00:00.000Z',
    });
  });

  it("moves a subscription at the version's first instant when that is one of its period boundaries, else at the next", () => {
    const now = t('2026-01-10T00:00:00Z');
    // Periods start on the 1st: the version's first instant (April 1) is a boundary.
    expect(new Date(migrationInstant(ordersSubscription('2026-01-01T00:00:00Z'), second, 'next_period', now)).toISOString()).toBe(
      '2026-04-01T00:00:00.000Z',
    );
    // Periods start on the 5th: the first boundary once April 1 has come is April 5.
    expect(new Date(migrationInstant(ordersSubscription('2026-01-05T00:00:00Z'), second, 'next_period', now)).toISOString()).toBe(
      '2026-04-05T00:00:00.000Z',
    );
  });

  it('moves only the subscriptions the request chooses, on another version of the plan, once they have started', () => {
    const sub = ordersSubscription('2026-02-01T00:00:00Z', 0);
    const at = t('2026-04-01T00:00:00Z');
    const req = (o: object) => ({ at: 'next_period' as const, ...o });
    expect(isMigrated(sub, second, req({}), at)).toBe(true);
    expect(isMigrated(sub, second, req({ fromVersions: [1] }), at)).toBe(true);
    expect(isMigrated(sub, second, req({ fromVersions: [2] }), at)).toBe(false);
    expect(isMigrated(sub, second, req({ tenants: ['globex'] }), at)).toBe(false);
    expect(isMigrated(sub, second, req({}), t('2026-01-15T00:00:00Z'))).toBe(false);
    expect(isMigrated(sub, first, req({}), at)).toBe(false);
  });

  it('keeps the version a subscription is on when it names its plan again, and takes the version in effect otherwise', () => {
    const onFirst = ordersSubscription('2026-02-01T00:00:00Z', 0);
    expect(refFor(onFirst, [first, second], t('2026-05-01T00:00:00Z'))).toBe('orders');
    const onOther = { ...onFirst, plans: [{ at: onFirst.startedAt, planId: 'growth' }] };
    expect(refFor(onOther, [first, second], t('2026-05-01T00:00:00Z'))).toBe('orders@2');
    expect(refFor(undefined, [first, second], t('2026-03-01T00:00:00Z'))).toBe('orders');
  });
});
