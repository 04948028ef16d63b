import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Plan, type Price, planSchema, priceSchema, seedPlans } from '../../shared/billing/plans.js';
import { adjustmentLines, baseFeeLines, charge, totals, usageLines } from '../../shared/billing/pricing.js';
import { Dec } from '../../shared/kernel/decimal.js';
import { roundMoney } from '../../shared/kernel/money.js';

const plan = (id: string): Plan => seedPlans.find((p) => p.id === id)!;
const month = { start: Date.parse('2025-01-01T00:00:00Z'), end: Date.parse('2025-02-01T00:00:00Z') };
const amount = (price: Price, quantity: string) => roundMoney(charge(priceSchema.parse(price), new Dec(quantity)).amount, 'USD');

function invoice(p: Plan, quantities: Record<string, string>, taxRate = '0') {
  const lines = [...baseFeeLines([{ plan: p, ...month }], month), ...usageLines(p, quantities, {})];
  return { lines, ...totals(lines, taxRate, p.currency) };
}

describe('seed worked examples', () => {
  it('seed 1: Optical Labs, January 2025, is $478.50 (the $418.00 box drops two lines)', () => {
    const inv = invoice(plan('base-199'), { orders: '1250', invoices: '980', storage_gb: '45', api_calls: '50000', ai_jobs: '120' });
    expect(Object.fromEntries(inv.lines.map((l) => [l.meter ?? 'base', l.amount]))).toEqual({
      base: '199.00',
      orders: '125.00',
      invoices: '49.00',
      storage_gb: '45.00',
      api_calls: '0.50',
      ai_jobs: '60.00',
    });
    expect(inv).toMatchObject({ subtotal: '478.50', tax: '0.00', total: '478.50' });
  });

  it('seed 2: Professional at 150 estimates and 8,000 calls stays inside its 200/10,000 quotas', () => {
    const inv = invoice(plan('professional'), { estimates: '150', api_calls: '8000', seats: '10' });
    expect(inv.total).toBe('999.00');
    expect(inv.lines.find((l) => l.meter === 'estimates')).toMatchObject({
      quantity: '150',
      included: '200',
      billable: '0',
      amount: '0.00',
    });
  });

  it("seed 2: Starter overage in the plan data's cents (estimates 500, api_calls 10, users 1000)", () => {
    const inv = invoice(plan('starter'), { estimates: '60', api_calls: '1500', seats: '5' });
    expect(inv.lines.filter((l) => l.kind === 'usage').map((l) => [l.meter, l.billable, l.amount])).toEqual([
      ['api_calls', '500', '50.00'],
      ['estimates', '10', '50.00'],
      ['seats', '2', '20.00'],
    ]);
    expect(inv.total).toBe('419.00');
  });

  it('seed 2: Enterprise is unlimited, not 999,999', () => {
    const inv = invoice(plan('enterprise'), { estimates: '5000000', api_calls: '99999999', seats: '1000000' });
    expect(inv.total).toBe('2999.00');
    expect(inv.lines.find((l) => l.meter === 'seats')).toMatchObject({ included: 'unlimited', billable: '0' });
  });

  it('every seed plan passes the plan schema', () => {
    for (const p of seedPlans) expect(planSchema.parse(p)).toEqual(p);
  });
});

describe('price models at their boundaries', () => {
  const quota: Price = { model: 'quota', included: '50', unitPrice: '5.00' };
  it.each([
    ['0', '0.00'],
    ['50', '0.00'],
    ['51', '5.00'],
    ['50.5', '2.50'],
  ])('quota 50 at %s → %s', (q, a) => expect(amount(quota, q)).toBe(a));

  const tiers = [
    { upTo: '100', unitPrice: '0.10' },
    { upTo: '1000', unitPrice: '0.05' },
    { upTo: null, unitPrice: '0.01' },
  ];
  it.each([
    ['0', '0.00'],
    ['1', '0.10'],
    ['100', '10.00'],
    ['101', '10.05'],
    ['1000', '55.00'],
    ['1001', '55.01'],
  ])('graduated at %s → %s', (q, a) => expect(amount({ model: 'graduated', tiers } as Price, q)).toBe(a));

  it.each([
    ['0', '0.00'],
    ['100', '10.00'],
    ['101', '5.05'],
    ['1000', '50.00'],
    ['1001', '10.01'],
  ])('volume at %s → %s', (q, a) => expect(amount({ model: 'volume', tiers } as Price, q)).toBe(a));

  it('graduated flat fees are charged once per tier reached, volume flat fee once for the tier of the total', () => {
    const withFees = [
      { upTo: '10', unitPrice: '0', flatFee: '5.00' },
      { upTo: null, unitPrice: '1.00', flatFee: '2.00' },
    ];
    expect(amount({ model: 'graduated', tiers: withFees } as Price, '0')).toBe('0.00');
    expect(amount({ model: 'graduated', tiers: withFees } as Price, '10')).toBe('5.00');
    expect(amount({ model: 'graduated', tiers: withFees } as Price, '11')).toBe('8.00');
    expect(amount({ model: 'volume', tiers: withFees } as Price, '11')).toBe('13.00');
    const c = charge(priceSchema.parse({ model: 'graduated', tiers: withFees }), new Dec('11'));
    expect(c.tiers?.map((t) => [t.upTo, t.quantity])).toEqual([
      ['10', '10'],
      [null, '1'],
    ]);
  });

  it.each([
    ['up', '0', '0.00'],
    ['up', '1', '0.01'],
    ['up', '1000', '0.01'],
    ['up', '1001', '0.02'],
    ['prorated', '1001', '0.01'],
    ['prorated', '1500', '0.02'], // 0.015 → 0.02
    ['prorated', '500', '0.01'], // 0.005 → 0.01 (half-up; banker's would give 0.00)
    ['prorated', '499', '0.00'],
  ])('package of 1,000 at $0.01, %s, at %s → %s', (rounding, q, a) =>
    expect(amount({ model: 'package', packageSize: '1000', packagePrice: '0.01', rounding } as Price, q)).toBe(a),
  );

  it('a sub-cent unit price is exact: $0.00001 per call', () => {
    expect(charge(priceSchema.parse({ model: 'perUnit', unitPrice: '0.00001' }), new Dec('123457')).amount.toFixed()).toBe('1.23457');
    expect(amount({ model: 'perUnit', unitPrice: '0.00001' }, '123457')).toBe('1.23');
  });

  it('refuses floats, negative prices and tiers that do not rise', () => {
    expect(priceSchema.safeParse({ model: 'perUnit', unitPrice: 0.1 }).success).toBe(false);
    expect(priceSchema.safeParse({ model: 'perUnit', unitPrice: '-1' }).success).toBe(false);
    expect(
      priceSchema.safeParse({
        model: 'graduated',
        tiers: [
          { upTo: '10', unitPrice: '1' },
          { upTo: '5', unitPrice: '1' },
          { upTo: null, unitPrice: '1' },
        ],
      }).success,
    ).toBe(false);
    expect(priceSchema.safeParse({ model: 'volume', tiers: [{ upTo: '10', unitPrice: '1' }] }).success).toBe(false);
    expect(() => charge({ model: 'free' }, new Dec(-1))).toThrow();
  });
});

describe('base fee proration and tax', () => {
  it('prorates by milliseconds of the period and rounds each line once', () => {
    const feb = { start: Date.parse('2024-02-01T00:00:00Z'), end: Date.parse('2024-03-01T00:00:00Z') }; // leap year: 29 days
    const change = Date.parse('2024-02-15T00:00:00Z');
    const lines = baseFeeLines(
      [
        { plan: plan('starter'), start: feb.start, end: change },
        { plan: plan('professional'), start: change, end: feb.end },
      ],
      feb,
    );
    // 14/29 × 299 = 144.344827… → 144.34; 15/29 × 999 = 516.724137… → 516.72
    expect(lines.map((l) => l.amount)).toEqual(['144.34', '516.72']);
    expect(totals(lines, '0', 'USD').subtotal).toBe('661.06');
  });

  it('tax is one rounded line on the subtotal', () => {
    const inv = invoice(plan('base-199'), { orders: '1' }, '0.0825');
    // 199.10 × 0.0825 = 16.42575 → 16.43
    expect(inv).toMatchObject({ subtotal: '199.10', tax: '16.43', total: '215.53' });
  });
});

describe('late-usage adjustments', () => {
  const billed = {
    periodStart: '2025-01-01T00:00:00.000Z',
    periodEnd: '2025-02-01T00:00:00.000Z',
    trial: false,
    plan: plan('starter'),
    quantities: { estimates: '49', api_calls: '10', seats: '3' },
  };
  it('bill the difference of the period priced again under its own plan', () => {
    const lines = adjustmentLines(
      billed,
      { estimates: '52', api_calls: '10', seats: '4' },
      { estimates: { name: 'Estimates', unit: 'estimate' } },
    );
    expect(lines.map((l) => [l.meter, l.quantity, l.amount])).toEqual([
      ['estimates', '3', '10.00'], // 49 → 52 crosses the 50 quota: 2 billable
      ['seats', '1', '10.00'],
    ]);
    expect(lines[0]!.description).toMatch(/^Adjustment: late usage of Estimates, 2025-01-01/);
  });
  it('are listed even when the late usage stays inside the quota', () => {
    expect(adjustmentLines(billed, { ...billed.quantities, api_calls: '20' }, {})).toMatchObject([
      { meter: 'api_calls', quantity: '10', amount: '0.00' },
    ]);
  });
});

/** Decimal strings with up to `scale` decimals, built from integers: no float ever involved. */
const decimal = (maxUnits: bigint, scale: number) =>
  fc.tuple(fc.bigInt({ min: 0n, max: maxUnits }), fc.integer({ min: 0, max: scale })).map(([units, s]) => {
    if (s === 0) return units.toString();
    const text = units.toString().padStart(s + 1, '0');
    return `${text.slice(0, -s)}.${text.slice(-s)}`;
  });

/** Exact reference: a decimal string as (integer, scale). */
function scaled(text: string): [bigint, number] {
  const [whole, fraction = ''] = text.split('.');
  return [BigInt(whole! + fraction), fraction.length];
}
/** Half-up rounding of n / 10^scale to cents, in integers only. */
function centsHalfUp(n: bigint, scale: number): bigint {
  if (scale <= 2) return n * 10n ** BigInt(2 - scale);
  const div = 10n ** BigInt(scale - 2);
  return (n * 2n + div) / (2n * div);
}
const cents = (amountText: string) => {
  const [n, s] = scaled(amountText);
  return n * 10n ** BigInt(2 - s);
};

const priceArb: fc.Arbitrary<Price> = fc.oneof(
  fc.constant<Price>({ model: 'free' }),
  decimal(10n ** 8n, 6).map((unitPrice): Price => ({ model: 'perUnit', unitPrice })),
  fc
    .tuple(
      decimal(10n ** 6n, 0).filter((s) => s !== '0'),
      decimal(10n ** 6n, 4),
      fc.constantFrom('up' as const, 'prorated' as const),
    )
    .map(([packageSize, packagePrice, rounding]): Price => ({ model: 'package', packageSize, packagePrice, rounding })),
  fc
    .tuple(fc.oneof(fc.constant('unlimited' as const), decimal(10n ** 6n, 0)), decimal(10n ** 6n, 4))
    .map(([included, unitPrice]): Price => ({ model: 'quota', included, unitPrice })),
  fc
    .tuple(
      fc.constantFrom('graduated' as const, 'volume' as const),
      fc.uniqueArray(fc.integer({ min: 1, max: 10_000 }), { minLength: 1, maxLength: 4 }),
      fc.array(decimal(10n ** 5n, 5), { minLength: 5, maxLength: 5 }),
    )
    .map(
      ([model, bounds, prices]): Price => ({
        model,
        tiers: [
          ...bounds.sort((a, b) => a - b).map((b, i) => ({ upTo: String(b), unitPrice: prices[i]!, flatFee: i === 0 ? '1.5' : '0' })),
          { upTo: null, unitPrice: prices[4]!, flatFee: '0' },
        ],
      }),
    ),
);

const planArb = fc.record({
  prices: fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd', 'e'), priceArb, { minKeys: 1 }),
  baseFee: decimal(10n ** 7n, 2),
  taxRate: decimal(10n ** 3n, 4),
});
const quantitiesArb = fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd', 'e'), decimal(10n ** 12n, 12));

describe('pricing properties', () => {
  const toPlan = (p: { prices: Record<string, Price>; baseFee: string }): Plan => ({
    id: 'p',
    name: 'P',
    currency: 'USD',
    interval: 'month',
    baseFee: p.baseFee,
    prices: p.prices,
  });

  it('total is the sum of the lines plus tax, each line rounded to the cent', () => {
    fc.assert(
      fc.property(planArb, quantitiesArb, (p, quantities) => {
        const inv = invoice(toPlan(p), quantities, p.taxRate);
        const lineCents = inv.lines.map((l) => {
          expect(l.amount).toMatch(/^\d+\.\d{2}$/);
          return cents(l.amount);
        });
        expect(cents(inv.subtotal)).toBe(lineCents.reduce((a, b) => a + b, 0n));
        expect(cents(inv.total)).toBe(cents(inv.subtotal) + cents(inv.tax));
      }),
    );
  });

  it('no float touches money: amounts match an integer-only reference to the cent', () => {
    fc.assert(
      fc.property(decimal(10n ** 12n, 12), decimal(10n ** 8n, 8), (quantity, unitPrice) => {
        const [q, qs] = scaled(quantity);
        const [p, ps] = scaled(unitPrice);
        const expected = centsHalfUp(q * p, qs + ps);
        expect(cents(amount({ model: 'perUnit', unitPrice }, quantity))).toBe(expected);
        // $0.01 per 1,000, prorated = quantity / 100,000 dollars
        expect(cents(amount({ model: 'package', packageSize: '1000', packagePrice: '0.01', rounding: 'prorated' }, quantity))).toBe(
          centsHalfUp(q, qs + 5),
        );
      }),
    );
  });

  it('pricing the same usage again is deterministic, whatever order the prices come back in', () => {
    fc.assert(
      fc.property(planArb, quantitiesArb, (p, quantities) => {
        const shuffled = { ...p, prices: Object.fromEntries(Object.entries(p.prices).reverse()) };
        expect(invoice(toPlan(shuffled), quantities, p.taxRate)).toEqual(invoice(toPlan(p), quantities, p.taxRate));
        expect(JSON.parse(JSON.stringify(invoice(toPlan(p), quantities, p.taxRate)))).toEqual(invoice(toPlan(p), quantities, p.taxRate));
      }),
    );
  });

  it('every model but volume costs more (or the same) for more usage', () => {
    fc.assert(
      fc.property(priceArb, decimal(10n ** 8n, 4), decimal(10n ** 8n, 4), (price, x, y) => {
        const [lo, hi] = new Dec(x).lessThanOrEqualTo(y) ? [x, y] : [y, x];
        if (price.model === 'volume') return; // volume drops at tier edges by design
        expect(new Dec(charge(price, new Dec(lo)).amount).lessThanOrEqualTo(charge(price, new Dec(hi)).amount)).toBe(true);
      }),
    );
  });
});
