import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { InvoiceLine } from '../../shared/billing/pricing.js';
import { groupDigits, lineQuantityText, pluralUnit, quantityWithUnit, rateText, unitMoney } from '../../shared/billing/units.js';
import { Dec } from '../../shared/kernel/decimal.js';
import { type Currency, minorUnits } from '../../shared/kernel/money.js';

/** How an invoice reads quantities and prices, each case written out by hand. */
describe('units on an invoice', () => {
  it('pluralizes units as English does, leaving abbreviations and symbols alone', () => {
    expect(['order', 'box', 'batch', 'wish', 'query', 'day', 'seat-day', 'GB', 'kWh', 'GB-month', 'TOKEN', '%'].map(pluralUnit)).toEqual([
      'orders',
      'boxes',
      'batches',
      'wishes',
      'queries',
      'days',
      'seat-days',
      'GB',
      'kWh',
      'GB-months',
      'TOKENs',
      '%',
    ]);
  });

  it('groups digits by thousands, keeping the sign and every decimal as given', () => {
    expect(groupDigits('1234567.50')).toBe('1,234,567.50');
    expect(groupDigits('-1234')).toBe('-1,234');
    expect(groupDigits('999')).toBe('999');
  });

  it('says "1 order" and "-1 order" but "0 orders" and "1.5 orders"', () => {
    expect(quantityWithUnit('1', 'order')).toBe('1 order');
    expect(quantityWithUnit('-1', 'order')).toBe('-1 order');
    expect(quantityWithUnit('0', 'order')).toBe('0 orders');
    expect(quantityWithUnit('1.5', 'order')).toBe('1.5 orders');
    expect(quantityWithUnit('12500', 'call')).toBe('12,500 calls');
  });

  it('reads a base line as the share of the period, and a usage line without a unit in units', () => {
    const line = (o: Partial<InvoiceLine>): InvoiceLine => ({ kind: 'usage', description: 'd', amount: '0', quantity: '0', ...o });
    expect(lineQuantityText(line({ kind: 'base', quantity: '1' }))).toBe('1 period');
    expect(lineQuantityText(line({ kind: 'base', quantity: '0.5' }))).toBe('0.5 of the period');
    expect(lineQuantityText(line({ quantity: '3' }))).toBe('3 units');
    expect(lineQuantityText(line({ quantity: '1', unit: 'GB-month' }))).toBe('1 GB-month');
  });
});

describe('unit prices', () => {
  it('keep sub-cent digits without rounding them into the whole part', () => {
    expect(unitMoney('0.10', 'USD')).toBe('$0.10');
    expect(unitMoney('0.1', 'USD')).toBe('$0.10');
    expect(unitMoney('0.0025', 'USD')).toBe('$0.0025');
    expect(unitMoney('1.999', 'USD')).toBe('$1.999');
    expect(unitMoney('1234.5678', 'USD')).toBe('$1,234.5678');
    expect(unitMoney('-0.125', 'EUR')).toBe('-€0.125');
    expect(unitMoney('0.5', 'JPY')).toBe('¥0.5');
    expect(unitMoney('12', 'JPY')).toBe('¥12');
  });

  it('show exactly the amount, whatever its digits and currency', () => {
    const amount = fc
      .tuple(fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }), fc.integer({ min: 0, max: 6 }))
      .map(([n, scale]) => new Dec(n.toString()).div(10 ** scale).toFixed());
    const currency = fc.constantFrom(...(Object.keys(minorUnits) as Currency[]));
    fc.assert(
      fc.property(amount, currency, (a, c) => {
        const shown = unitMoney(a, c).replace(/[^\d.-]/g, '');
        expect(new Dec(shown).equals(a)).toBe(true);
      }),
    );
  });

  it('read each price model in words', () => {
    const rate = (price: InvoiceLine['price'], unit?: string) =>
      rateText(
        { kind: 'usage', description: 'd', amount: '0', quantity: '0', ...(price ? { price } : {}), ...(unit ? { unit } : {}) },
        'USD',
      );
    expect(rate(undefined)).toBe('');
    expect(rate({ model: 'free' })).toBe('free');
    expect(rate({ model: 'perUnit', unitPrice: '0.0025' }, 'call')).toBe('$0.0025 per call');
    expect(rate({ model: 'perUnit', unitPrice: '2' })).toBe('$2.00 per unit');
    expect(rate({ model: 'package', packageSize: '1000', packagePrice: '0.01', rounding: 'prorated' }, 'call')).toBe(
      '$0.01 per 1,000 calls, partial packages prorated',
    );
    expect(rate({ model: 'package', packageSize: '1', packagePrice: '5', rounding: 'up' }, 'job')).toBe(
      '$5.00 per 1 job, each started package in full',
    );
    expect(rate({ model: 'quota', included: 'unlimited', unitPrice: '0' }, 'seat')).toBe('included, unlimited');
    expect(rate({ model: 'quota', included: '100', unitPrice: '0.5' }, 'seat')).toBe('100 seats included, then $0.50 per seat');
    const tiers = [{ upTo: null, unitPrice: '1', flatFee: '0' }] as never;
    expect(rate({ model: 'graduated', tiers })).toBe('graduated tiers (each tier at its own price)');
    expect(rate({ model: 'volume', tiers })).toBe('volume tiers (all units at the reached tier’s price)');
  });
});
