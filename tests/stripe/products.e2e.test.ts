import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { DynamoBillingStore } from '../../shared/billing/adapters/billing-store.js';
import { seedPlans } from '../../shared/billing/plans.js';
import { newSubscription, shiftMonths } from '../../shared/billing/subscriptions.js';
import { seedMeters } from '../../shared/metering/seed-meters.js';
import { documentClient } from '../../shared/platform/dynamo/client.js';
import { stripeClient } from '../../shared/stripe/adapters/client.js';
import { DynamoStripeStore } from '../../shared/stripe/adapters/stripe-store.js';
import { planPriceSpecs } from '../../shared/stripe/products.js';
import { api, createAdminKey, createTenant, startTestStack } from '../support/stack.js';

/**
 * Plans, prices and subscriptions end to end: tenants subscribed through the billing admin API, the
 * scheduled report job, the real stripe-node client, the Stripe emulator.
 */
const DAY = 86_400_000;
const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
const due = new Date(today + 3_600_000);
const plan = (id: string) => seedPlans.find((p) => p.id === id)!;
const writes = (calls: { method: string; path: string }[]) =>
  calls.filter((c) => c.method === 'POST' && /^\/v1\/(products|prices|subscriptions)/.test(c.path));

describe('Meterline plans and subscriptions mirrored in Stripe', () => {
  let stack: LocalStack;
  let stripe: Stripe;
  let store: DynamoStripeStore;
  let admin: string;
  const run = async (at = due) => stack.runReport(at);
  const subscribe = async (tenantId: string, body: unknown) =>
    expect((await api(stack, 'PUT', `/v1/admin/tenants/${tenantId}/subscription`, admin, body)).status).toBeLessThan(300);
  const stripeSubscription = async (tenantId: string) =>
    stripe.subscriptions.retrieve((await store.subscriptionLink(tenantId))!.subscriptionId);
  const pricesOf = async (planId: string) => (await stripe.prices.list({ limit: 100 })).data.filter((p) => p.metadata?.plan_id === planId);

  beforeAll(async () => {
    stack = await startTestStack();
    stack.stripe!.setWebhook(undefined);
    stripe = stripeClient({ secretKey: stack.stripe!.apiKey, apiBase: stack.stripe!.url });
    store = new DynamoStripeStore(documentClient(stack.dynamo), stack.env.STRIPE_TABLE!);
    admin = await createAdminKey(stack);
    for (const tenantId of ['umbrella', 'hooli', 'broken']) await createTenant(stack, tenantId);
    await subscribe('umbrella', { planId: 'starter' });
    await subscribe('hooli', { planId: 'base-199', trialDays: 14 });
    // A subscription whose plan is gone: its tenant fails, the others go on.
    const billing = new DynamoBillingStore(documentClient(stack.dynamo), stack.env.BILLING_TABLE!);
    await billing.putSubscription(
      newSubscription({ tenantId: 'broken', planId: 'vanished', interval: 'month', currency: 'USD', startAt: today, now: today }),
    );
  });
  afterAll(() => stack.stop());

  it('creates the products, the metered prices on the right meters with the right amounts, and one subscription per tenant', async () => {
    const summary = await run();
    expect(summary.errors).toEqual([
      expect.objectContaining({ tenantId: 'broken', message: expect.stringMatching(/plan vanished does not exist/) }),
    ]);

    const meters = new Map((await stripe.billing.meters.list({ limit: 100 })).data.map((m) => [m.id, m.event_name]));
    for (const planId of ['starter', 'base-199']) {
      expect((await stripe.products.retrieve(`meterline-plan-${planId}`)).name).toBe(plan(planId).name);
      const prices = await pricesOf(planId);
      const specs = planPriceSpecs(plan(planId), seedMeters);
      expect(prices.map((p) => p.lookup_key).sort()).toEqual(specs.map((s) => s.lookupKey).sort());
      for (const spec of specs) {
        const price = prices.find((p) => p.lookup_key === spec.lookupKey)!;
        expect(price.product).toBe(`meterline-plan-${planId}`);
        expect(price.recurring).toMatchObject({ interval: 'month', usage_type: spec.meter ? 'metered' : 'licensed' });
        expect(price.recurring!.meter ? meters.get(price.recurring!.meter) : undefined).toBe(spec.meter?.eventName);
      }
    }
    const starter = await pricesOf('starter');
    const byMeter = (prices: Stripe.Price[], key: string) => prices.find((p) => (p.metadata.meter ?? 'base') === key)!;
    expect(byMeter(starter, 'base')).toMatchObject({ billing_scheme: 'per_unit', unit_amount: 29900 });
    const estimates = byMeter(starter, 'estimates');
    expect(estimates).toMatchObject({ billing_scheme: 'tiered', tiers_mode: 'graduated' });
    // stripe-node reads decimal fields as Stripe.Decimal.
    expect(estimates.tiers!.map((t) => [t.up_to, String(t.unit_amount_decimal), String(t.flat_amount_decimal)])).toEqual([
      [50, '0', '0'],
      [null, '500', '0'],
    ]);
    const base199 = await pricesOf('base-199');
    // Sub-cent amounts per scaled unit: 0.0001 cents per micro-GB-month, 0.001 cents per API call.
    expect(String(byMeter(base199, 'storage_gb').unit_amount_decimal)).toBe('0.0001');
    expect(String(byMeter(base199, 'api_calls').unit_amount_decimal)).toBe('0.001');
    expect(byMeter(base199, 'orders')).toMatchObject({ unit_amount: 10 });

    const umbrella = await stripeSubscription('umbrella');
    expect(umbrella).toMatchObject({
      metadata: { tenant_id: 'umbrella', plan_id: 'starter' },
      cancel_at_period_end: false,
      start_date: today / 1000,
      trial_end: null,
    });
    // Started today: Stripe's cycle is on today's day of the month, as Meterline's, so the next period starts on the same day next month.
    expect(umbrella.billing_cycle_anchor_config).toMatchObject({ day_of_month: new Date(today).getUTCDate(), hour: 0 });
    expect(umbrella.billing_cycle_anchor).toBe(shiftMonths(today, 1) / 1000);
    expect(umbrella.items.data.map((i) => i.price.id).sort()).toEqual(starter.map((p) => p.id).sort());
    const hooli = await stripeSubscription('hooli');
    expect(hooli).toMatchObject({ status: 'trialing', trial_end: (today + 14 * DAY) / 1000 });
    expect(hooli.items.data).toHaveLength(6);
    expect(await store.subscriptionLink('broken')).toBeUndefined();
  });

  it('a second run creates nothing new', async () => {
    const before = stack.stripe!.calls().length;
    const summary = await run();
    expect(summary.errors.map((e) => e.tenantId)).toEqual(['broken']);
    expect(writes(stack.stripe!.calls().slice(before))).toEqual([]);
    expect(await pricesOf('starter')).toHaveLength(4);
  });

  it('a cancellation and a plan change reach the same Stripe subscription, once', async () => {
    const link = await store.subscriptionLink('umbrella');
    await subscribe('umbrella', { planId: 'professional' });
    await subscribe('umbrella', { cancelAtPeriodEnd: true });
    const later = new Date(Date.now() + 60_000);
    await run(later);
    const umbrella = await stripeSubscription('umbrella');
    expect(umbrella.id).toBe(link!.subscriptionId);
    expect(umbrella).toMatchObject({ cancel_at_period_end: true, metadata: { plan_id: 'professional' } });
    expect(umbrella.items.data.map((i) => i.price.id).sort()).toEqual((await pricesOf('professional')).map((p) => p.id).sort());
    const before = stack.stripe!.calls().length;
    await run(later);
    expect(writes(stack.stripe!.calls().slice(before))).toEqual([]);
  });
});
