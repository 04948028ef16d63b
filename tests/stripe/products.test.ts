import { describe, expect, it } from 'vitest';
import { priceAmount } from '../../local/stripe-emulator/billing.js';
import { type Plan, type Price, refOf, seedPlans } from '../../shared/billing/plans.js';
import { charge } from '../../shared/billing/pricing.js';
import { changeSubscription, newSubscription } from '../../shared/billing/subscriptions.js';
import { Dec } from '../../shared/kernel/decimal.js';
import type { Meter } from '../../shared/metering/meters.js';
import { seedMeters } from '../../shared/metering/seed-meters.js';
import { scaledQuantity } from '../../shared/stripe/meter-reporting.js';
import {
  mirroredPlanId,
  PriceNotRepresentable,
  planPriceSpecs,
  type StripePriceSpec,
  subscriptionSpec,
} from '../../shared/stripe/products.js';

const seed = (id: string): Plan => seedPlans.find((p) => p.id === id)!;
const meter = (key: string, aggregation: Meter['aggregation']): Meter => ({ key, name: key, unit: 'unit', aggregation, groupBy: [] });
const planOf = (price: Price, m = meter('calls', 'COUNT'), currency: Plan['currency'] = 'USD'): StripePriceSpec => {
  const plan: Plan = { id: 'p', name: 'P', currency, interval: 'month', baseFee: '0', prices: { [m.key]: price } };
  return planPriceSpecs(plan, [m])[1]!;
};
const strip = ({ lookupKey: _k, nickname: _n, ...rest }: StripePriceSpec) => rest;

/** What Stripe charges for `scaled` units of a spec, unrounded: the emulator's pricing of the Stripe price the spec becomes. */
const stripeAmount = (spec: StripePriceSpec, scaled: Dec): Dec =>
  priceAmount(
    {
      billing_scheme: spec.tiers ? 'tiered' : 'per_unit',
      tiers_mode: spec.tiersMode,
      tiers: spec.tiers?.map((t) => ({
        up_to: t.upTo === 'inf' ? null : t.upTo,
        unit_amount_decimal: t.unitAmountDecimal,
        flat_amount_decimal: t.flatAmountDecimal,
      })),
      unit_amount_decimal: spec.unitAmountDecimal,
      transform_quantity: spec.transformQuantity
        ? { divide_by: spec.transformQuantity.divideBy, round: spec.transformQuantity.round }
        : null,
    },
    scaled,
  );

/** Stripe's amount in cents (one rounding) equals Meterline's line in cents for each quantity. */
function expectSameAmounts(price: Price, m: Meter, quantities: string[]) {
  const spec = planOf(price, m);
  const scale = { COUNT: 1, UNIQUE_COUNT: 1, SUM: 1000, MAX: 1000, MIN: 1000, AVG: 1_000_000, LATEST: 1_000_000, TIME_WEIGHTED: 1_000_000 }[
    m.aggregation
  ];
  for (const q of quantities) {
    const meterline = charge(price, new Dec(q)).amount.times(100).toDecimalPlaces(0, Dec.ROUND_HALF_UP);
    const stripe = stripeAmount(spec, new Dec(scaledQuantity(q, scale))).toDecimalPlaces(0, Dec.ROUND_HALF_UP);
    expect(stripe.toFixed(), `${price.model} at ${q}`).toBe(meterline.toFixed());
  }
}

describe('Meterline plans as Stripe prices', () => {
  it('base-199: a licensed base fee and per-unit metered prices in cents per scaled unit, sub-cent ones exact', () => {
    const specs = planPriceSpecs(seed('base-199'), seedMeters);
    expect(specs.map(strip)).toEqual([
      { currency: 'usd', interval: 'month', unitAmountDecimal: '19900', rounding: 'same' },
      {
        currency: 'usd',
        interval: 'month',
        meter: { key: 'ai_jobs', eventName: 'meterline_ai_jobs_count' },
        unitAmountDecimal: '50',
        rounding: 'same',
      },
      // $0.01 per 1,000 calls, prorated: 0.001 cents per call.
      {
        currency: 'usd',
        interval: 'month',
        meter: { key: 'api_calls', eventName: 'meterline_api_calls_count' },
        unitAmountDecimal: '0.001',
        rounding: 'same',
      },
      {
        currency: 'usd',
        interval: 'month',
        meter: { key: 'invoices', eventName: 'meterline_invoices_count' },
        unitAmountDecimal: '5',
        rounding: 'same',
      },
      {
        currency: 'usd',
        interval: 'month',
        meter: { key: 'orders', eventName: 'meterline_orders_count' },
        unitAmountDecimal: '10',
        rounding: 'same',
      },
      // $1.00 per GB-month on the ×1,000,000 gauge meter: 0.0001 cents per micro-GB-month.
      {
        currency: 'usd',
        interval: 'month',
        meter: { key: 'storage_gb', eventName: 'meterline_storage_gb_unit_months' },
        unitAmountDecimal: '0.0001',
        rounding: 'same',
      },
    ]);
    expect(specs.map((s) => s.lookupKey)).toEqual([
      expect.stringMatching(/^meterline:base-199:base:[0-9a-f]{12}$/),
      ...specs.slice(1).map((s) => expect.stringMatching(new RegExp(`^meterline:base-199:${s.meter!.eventName}:[0-9a-f]{12}$`))),
    ]);
  });

  it('starter and professional: included quota + overage as graduated tiers, the first free up to the quota', () => {
    const quota = (upTo: string, cents: string) => ({
      tiersMode: 'graduated',
      tiers: [
        { upTo, unitAmountDecimal: '0', flatAmountDecimal: '0' },
        { upTo: 'inf', unitAmountDecimal: cents, flatAmountDecimal: '0' },
      ],
      rounding: 'same',
    });
    expect(planPriceSpecs(seed('starter'), seedMeters).map(strip)).toEqual([
      { currency: 'usd', interval: 'month', unitAmountDecimal: '29900', rounding: 'same' },
      { currency: 'usd', interval: 'month', meter: { key: 'api_calls', eventName: 'meterline_api_calls_count' }, ...quota('1000', '10') },
      { currency: 'usd', interval: 'month', meter: { key: 'estimates', eventName: 'meterline_estimates_count' }, ...quota('50', '500') },
      { currency: 'usd', interval: 'month', meter: { key: 'seats', eventName: 'meterline_seats_unique_count' }, ...quota('3', '1000') },
    ]);
    expect(
      planPriceSpecs(seed('professional'), seedMeters)
        .map(strip)
        .slice(1)
        .map((s) => s.tiers),
    ).toEqual([quota('10000', '8').tiers, quota('200', '400').tiers, quota('10', '800').tiers]);
  });

  it('enterprise: unlimited quotas are free per-unit prices on the same meters', () => {
    const specs = planPriceSpecs(seed('enterprise'), seedMeters);
    expect(specs.map((s) => [s.meter?.key ?? 'base', s.unitAmountDecimal, s.tiers])).toEqual([
      ['base', '299900', undefined],
      ['api_calls', '0', undefined],
      ['estimates', '0', undefined],
      ['seats', '0', undefined],
    ]);
  });

  it('prices only the meters the tenant has', () => {
    const specs = planPriceSpecs(
      seed('base-199'),
      seedMeters.filter((m) => m.key === 'orders'),
    );
    expect(specs.map((s) => s.meter?.key)).toEqual([undefined, 'orders']);
  });

  it('every model: Stripe amounts equal Meterline lines, cent for cent, on unscaled and scaled meters', () => {
    const count = meter('calls', 'COUNT');
    const sum = meter('gb', 'SUM');
    const gauge = meter('storage', 'LATEST');
    const counts = ['0', '1', '3', '999', '1000', '1001', '2500', '123457'];
    expectSameAmounts({ model: 'free' }, count, counts);
    expectSameAmounts({ model: 'perUnit', unitPrice: '0.00001' }, count, counts);
    expectSameAmounts({ model: 'perUnit', unitPrice: '0.023' }, sum, ['0.001', '12.345', '1000000.5']);
    expectSameAmounts({ model: 'perUnit', unitPrice: '1.00' }, gauge, ['12.5', '0.000001', '3.141593']);
    expectSameAmounts({ model: 'package', packageSize: '1000', packagePrice: '0.01', rounding: 'up' }, count, counts);
    expectSameAmounts({ model: 'package', packageSize: '1000', packagePrice: '2.50', rounding: 'prorated' }, count, counts);
    expectSameAmounts({ model: 'package', packageSize: '0.5', packagePrice: '1.25', rounding: 'up' }, sum, [
      '0.001',
      '0.5',
      '0.501',
      '7.25',
    ]);
    const tiers = [
      { upTo: '1000', unitPrice: '0.01', flatFee: '5' },
      { upTo: '10000', unitPrice: '0.008', flatFee: '0' },
      { upTo: null, unitPrice: '0.005', flatFee: '1.50' },
    ];
    expectSameAmounts({ model: 'graduated', tiers }, count, counts);
    expectSameAmounts({ model: 'volume', tiers }, count, counts);
    expectSameAmounts(
      {
        model: 'volume',
        tiers: [
          { upTo: '10', unitPrice: '0.0003', flatFee: '0' },
          { upTo: null, unitPrice: '0.0002', flatFee: '0.005' },
        ],
      },
      sum,
      ['0.001', '10', '10.001', '123.456'],
    );
    expectSameAmounts({ model: 'quota', included: '50', unitPrice: '5.00' }, count, ['0', '50', '51', '1000']);
    expectSameAmounts({ model: 'quota', included: '0', unitPrice: '0.10' }, count, ['0', '7']);
    expectSameAmounts({ model: 'quota', included: '2.5', unitPrice: '0.20' }, gauge, ['2.5', '2.500001', '10']);
    expectSameAmounts({ model: 'quota', included: 'unlimited', unitPrice: '9' }, count, ['0', '100']);
  });

  it('package up: whole packages through transform_quantity (divide_by in scaled units, rounded up); tiers in scaled units', () => {
    expect(strip(planOf({ model: 'package', packageSize: '1000', packagePrice: '0.01', rounding: 'up' }))).toMatchObject({
      unitAmountDecimal: '1',
      transformQuantity: { divideBy: '1000', round: 'up' },
    });
    expect(strip(planOf({ model: 'package', packageSize: '0.5', packagePrice: '1', rounding: 'up' }, meter('gb', 'SUM')))).toMatchObject({
      unitAmountDecimal: '100',
      transformQuantity: { divideBy: '500', round: 'up' },
    });
    expect(
      planOf(
        {
          model: 'volume',
          tiers: [
            { upTo: '2', unitPrice: '1', flatFee: '0.5' },
            { upTo: null, unitPrice: '0.5', flatFee: '0' },
          ],
        },
        meter('gb', 'SUM'),
      ),
    ).toMatchObject({
      tiersMode: 'volume',
      tiers: [
        { upTo: '2000', unitAmountDecimal: '0.1', flatAmountDecimal: '50' },
        { upTo: 'inf', unitAmountDecimal: '0.05', flatAmountDecimal: '0' },
      ],
      rounding: 'same',
    });
    expect(planOf({ model: 'graduated', tiers: [{ upTo: null, unitPrice: '1', flatFee: '0' }] }).rounding).toBe('per-tier');
  });

  it('a zero-decimal currency is priced in its own units', () => {
    expect(planOf({ model: 'perUnit', unitPrice: '15' }, meter('calls', 'COUNT'), 'JPY')).toMatchObject({
      currency: 'jpy',
      unitAmountDecimal: '15',
    });
  });

  it('refuses what Stripe cannot hold exactly rather than approximating it', () => {
    // 0.000000123456 dollars per GB-month → 1.23456e-11 cents per micro-GB-month: 16 decimals.
    expect(() => planOf({ model: 'perUnit', unitPrice: '0.000000123456' }, meter('storage', 'LATEST'))).toThrow(PriceNotRepresentable);
    expect(() => planOf({ model: 'package', packageSize: '3', packagePrice: '1', rounding: 'prorated' })).toThrow(PriceNotRepresentable);
    expect(() => planOf({ model: 'quota', included: '2.5', unitPrice: '1' })).toThrow(/not a whole number/);
    expect(() => planOf({ model: 'package', packageSize: '0.0001', packagePrice: '1', rounding: 'up' }, meter('gb', 'SUM'))).toThrow(
      PriceNotRepresentable,
    );
  });

  it('lookup keys are deterministic and change with what Stripe bills by', () => {
    const plan = seed('starter');
    expect(planPriceSpecs(plan, seedMeters)).toEqual(planPriceSpecs(structuredClone(plan), [...seedMeters].reverse()));
    const cheaper = {
      ...plan,
      name: 'Starter (renamed)',
      prices: { ...plan.prices, seats: { model: 'quota' as const, included: '3', unitPrice: '9.00' } },
    };
    const [before, after] = [planPriceSpecs(plan, seedMeters), planPriceSpecs(cheaper, seedMeters)];
    const changed = before.map((s, i) => s.lookupKey !== after[i]!.lookupKey);
    expect(changed).toEqual([false, false, false, true]);
  });
});

describe('a Meterline subscription as a Stripe subscription', () => {
  const DAY = 86_400_000;
  const start = Date.UTC(2026, 0, 31);
  const prices = planPriceSpecs(seed('starter'), seedMeters);
  const s = (t: number) => t / 1000;

  it("after the trial: backdated to the current period, on Meterline's anchor day", () => {
    const sub = newSubscription({ tenantId: 't1', planId: 'starter', interval: 'month', currency: 'USD', startAt: start, now: start });
    expect(subscriptionSpec(sub, prices, Date.UTC(2026, 1, 10))).toEqual({
      tenantId: 't1',
      startedAt: '2026-01-31T00:00:00.000Z',
      planId: 'starter',
      lookupKeys: prices.map((p) => p.lookupKey),
      backdateStartDate: s(start),
      // The 31st: Stripe bills Feb 28, then Mar 31, as Meterline's periods run.
      anchorConfig: { dayOfMonth: 31 },
      cancelAtPeriodEnd: false,
    });
  });

  it('during a trial: the trial end, which Stripe anchors on', () => {
    const sub = newSubscription({
      tenantId: 't1',
      planId: 'starter',
      interval: 'month',
      currency: 'USD',
      startAt: start,
      trialDays: 14,
      now: start,
    });
    const spec = subscriptionSpec(sub, prices, start + DAY)!;
    expect(spec).toMatchObject({ backdateStartDate: s(start), trialEnd: s(start + 14 * DAY) });
    expect(spec.anchorConfig).toBeUndefined();
  });

  it('a yearly plan anchors on its month too', () => {
    const sub = newSubscription({
      tenantId: 't1',
      planId: 'starter',
      interval: 'year',
      currency: 'USD',
      startAt: Date.UTC(2028, 1, 29),
      now: Date.UTC(2028, 1, 29),
    });
    expect(subscriptionSpec(sub, prices, Date.UTC(2028, 5, 1))).toMatchObject({ anchorConfig: { dayOfMonth: 29, month: 2 } });
  });

  it('cancel at period end; nothing before the start or after the cancellation took effect', () => {
    const sub = newSubscription({ tenantId: 't1', planId: 'starter', interval: 'month', currency: 'USD', startAt: start, now: start });
    const cancelled = changeSubscription(sub, { cancelAtPeriodEnd: true }, { now: start + DAY, notBefore: start });
    expect(subscriptionSpec(cancelled, prices, start + 2 * DAY)).toMatchObject({ cancelAtPeriodEnd: true });
    expect(subscriptionSpec(cancelled, prices, Date.parse(cancelled.cancelAt!))).toBeUndefined();
    expect(subscriptionSpec(sub, prices, start - 1)).toBeUndefined();
  });

  it('follows plan versions: a grandfathered subscription keeps its prices, a migrated one moves to the version at its boundary', () => {
    const sub = newSubscription({ tenantId: 't1', planId: 'starter', interval: 'month', currency: 'USD', startAt: start, now: start });
    const v2: Plan = {
      ...seed('starter'),
      version: 2,
      effectiveAt: '2026-02-10T00:00:00.000Z',
      prices: { ...seed('starter').prices, seats: { model: 'quota', included: '3', unitPrice: '9.00' } },
    };
    const boundary = Date.UTC(2026, 2, 31);
    const migrated = changeSubscription(
      sub,
      { planId: refOf(v2), effectiveAt: new Date(boundary).toISOString() },
      { now: Date.UTC(2026, 1, 10), notBefore: start, plan: v2 },
    );
    expect([mirroredPlanId(sub, boundary), mirroredPlanId(migrated, boundary - 1), mirroredPlanId(migrated, boundary)]).toEqual([
      'starter',
      'starter',
      'starter@2',
    ]);
    // Only the changed price gets a new key: the others stay the Stripe prices the subscription already has.
    const keys = planPriceSpecs(v2, seedMeters).map((p) => p.lookupKey);
    expect(keys.map((k, i) => k === prices[i]!.lookupKey)).toEqual([true, true, true, false]);
    expect(subscriptionSpec(migrated, planPriceSpecs(v2, seedMeters), boundary)).toMatchObject({ planId: 'starter@2', lookupKeys: keys });
  });
});
