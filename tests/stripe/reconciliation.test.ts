import { describe, expect, it } from 'vitest';
import { seedMeters } from '../../shared/metering/seed-meters.js';
import { type MeterlineInvoice, reconcile } from '../../shared/stripe/mirror.js';

const ours: MeterlineInvoice = {
  currency: 'USD',
  lines: [
    { meter: 'orders', quantity: '3', amount: '0.75' },
    { meter: 'storage_gb', quantity: '12.5', amount: '20.00' },
  ],
};
const stripe = (orders: number, ordersAmount: number) => ({
  currency: 'usd',
  lines: [
    // The base fee, billed in advance for the next period: never compared.
    { priceId: 'price_base', eventName: null, quantity: '1', amount: 900 },
    { priceId: 'price_orders', eventName: 'meterline_orders_count', quantity: String(orders), amount: ordersAmount },
    // Storage is billed in GB-months and reported in micro-GB-months.
    { priceId: 'price_storage', eventName: 'meterline_storage_gb_unit_months', quantity: '12500000', amount: 2000 },
  ],
});

describe('invoice reconciliation', () => {
  it('finds nothing when quantities, line amounts and the usage total agree', () => {
    expect(reconcile(stripe(3, 75), ours, seedMeters)).toEqual([]);
  });

  it('flags a storage line one micro-GB-month away', () => {
    const off = stripe(3, 75);
    off.lines[2] = { ...off.lines[2]!, quantity: '12500001' };
    expect(reconcile(off, ours, seedMeters)).toEqual([
      { kind: 'QUANTITY', meter: 'storage_gb', provider: '12500001', meterline: '12500000' },
    ]);
  });

  it('names every difference', () => {
    expect(reconcile(stripe(4, 100), ours, seedMeters)).toEqual([
      { kind: 'QUANTITY', meter: 'orders', provider: '4', meterline: '3' },
      { kind: 'AMOUNT', meter: 'orders', provider: '1', meterline: '0.75' },
      { kind: 'USAGE_TOTAL', provider: '21', meterline: '20.75' },
    ]);
  });

  it('flags a Stripe invoice Meterline has no invoice for, and usage Stripe did not bill', () => {
    expect(reconcile(stripe(3, 75), undefined, seedMeters)).toEqual([{ kind: 'MISSING_OWN_INVOICE', provider: '20.75' }]);
    const withSeats = { ...ours, lines: [...ours.lines, { meter: 'seats', quantity: '2', amount: '0' }] };
    expect(reconcile(stripe(3, 75), withSeats, seedMeters)).toEqual([{ kind: 'QUANTITY', meter: 'seats', provider: '0', meterline: '2' }]);
  });

  it('leaves an invoice without usage alone: the one Stripe makes, in advance, when a subscription starts', () => {
    const first = { currency: 'usd', lines: [{ priceId: 'price_base', eventName: null, quantity: '1', amount: 19900 }] };
    expect(reconcile(first, undefined, seedMeters)).toEqual([]);
  });
});
