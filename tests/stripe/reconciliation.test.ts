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

describe('reconciliation of credit and true-up lines', () => {
  const withItems: MeterlineInvoice = {
    ...ours,
    items: [
      { line: 'credit:g_500', amount: '-500.00' },
      { line: 'commitment', amount: '200.00' },
    ],
  };
  const item = (meterlineLine: string, amount: number) => ({ priceId: null, eventName: null, quantity: '1', amount, meterlineLine });

  it('finds nothing when each line reached Stripe as an invoice item of the same amount', () => {
    const invoice = stripe(3, 75);
    expect(
      reconcile({ ...invoice, lines: [...invoice.lines, item('credit:g_500', -50000), item('commitment', 20000)] }, withItems, seedMeters),
    ).toEqual([]);
  });

  it('flags a credit Stripe did not take, a true-up of another amount, and an item of a line Meterline no longer has', () => {
    const invoice = stripe(3, 75);
    const lines = [...invoice.lines, item('commitment', 25000), item('credit:g_old', -1000)];
    expect(reconcile({ ...invoice, lines }, withItems, seedMeters)).toEqual([
      { kind: 'INVOICE_ITEM', line: 'commitment', provider: '250', meterline: '200' },
      { kind: 'INVOICE_ITEM', line: 'credit:g_500', provider: '0', meterline: '-500' },
      { kind: 'INVOICE_ITEM', line: 'credit:g_old', provider: '-10', meterline: '0' },
    ]);
  });
});
