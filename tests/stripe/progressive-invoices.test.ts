import fc from 'fast-check';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StripeEmulator, startStripeEmulator } from '../../local/stripe-emulator/server.js';
import type { Invoice } from '../../shared/billing/invoices.js';
import { deductEarlier } from '../../shared/billing/progressive.js';
import { stripeClient } from '../../shared/stripe/adapters/client.js';
import { StripeInvoiceItems } from '../../shared/stripe/adapters/invoice-items.js';
import { progressiveInvoiceItem, providerInvoiceItems } from '../../shared/stripe/invoice-items.js';
import { sendProgressiveInvoice } from '../../shared/stripe/invoice-sync.js';
import { meterlineInvoice } from '../../shared/stripe/mirror.js';
import { t } from '../billing/credit-world.js';

/**
 * A progressive invoice reaches Stripe as a one-off invoice, finalized, once; the period's final invoice takes
 * it off Stripe's cycle invoice as an "Already invoiced" item. The emulator answers the real stripe-node client.
 */
const progressive = (id: string, subtotal: string, index: number): Invoice => ({
  id,
  number: id,
  tenantId: 'acme',
  currency: 'USD',
  periodStart: '2026-03-01T00:00:00.000Z',
  periodEnd: '2026-04-01T00:00:00.000Z',
  trial: false,
  planId: 'surge',
  lines: [{ kind: 'usage', description: 'AI jobs', quantity: '60', amount: subtotal, meter: 'ai_jobs' }],
  billed: [],
  subtotal,
  taxRate: '0',
  tax: '0.00',
  total: subtotal,
  status: 'open',
  issuedAt: '2026-03-10T09:00:00.000Z',
  statusHistory: [{ status: 'open', at: '2026-03-10T09:00:00.000Z' }],
  progressive: { index, threshold: '50', amountDue: subtotal },
});

describe('progressive invoices as Stripe items (pure)', () => {
  it("the progressive invoice's one item is its subtotal in cents, keyed by the invoice", () => {
    expect(progressiveInvoiceItem(progressive('INV-2026-000001', '60.00', 0))).toEqual({
      invoiceId: 'INV-2026-000001',
      line: 'progressive',
      amount: 6000,
      currency: 'usd',
      description: 'Usage to 2026-03-10 (Meterline progressive invoice INV-2026-000001)',
      idempotencyKey: 'meterline-item-INV-2026-000001-progressive',
    });
  });

  it("each 'Already invoiced' line of a final invoice is a negative item that takes off exactly what the progressive one charged", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 10_000_000 }), { minLength: 1, maxLength: 5 }), (cents) => {
        const earlier = cents.map((c, i) => progressive(`INV-2026-00000${i + 1}`, (c / 100).toFixed(2), i));
        const period = cents.reduce((a, b) => a + b, 0) + 12_345;
        const whole = (period / 100).toFixed(2);
        const final = {
          ...deductEarlier(
            {
              ...earlier[0]!,
              progressive: undefined,
              lines: [{ kind: 'usage', description: 'AI jobs', quantity: '1', amount: whole, meter: 'ai_jobs' }],
              subtotal: whole,
              total: whole,
            },
            earlier,
          ),
          id: 'INV-2026-000009',
        };
        const items = providerInvoiceItems(final);
        expect(items.map((i) => [i.line, i.amount])).toEqual(
          earlier.map((e) => [`progressive:${e.id}`, -progressiveInvoiceItem(e).amount]),
        );
        // Reconciliation expects the same items on Stripe's cycle invoice.
        expect(meterlineInvoice({ ...final, number: final.id } as Invoice).items).toEqual(
          earlier.map((e) => ({ line: `progressive:${e.id}`, amount: `-${e.subtotal}` })),
        );
        // Across Stripe's invoices: the progressive ones, then the cycle invoice's usage less the deductions.
        const charged = earlier.map((e) => progressiveInvoiceItem(e).amount).reduce((a, b) => a + b, 0);
        expect(charged + period + items.reduce((a, i) => a + i.amount, 0)).toBe(period);
      }),
    );
  });
});

describe('progressive invoices through the emulator and the real stripe-node client', () => {
  let emulator: StripeEmulator;
  let stripe: Stripe;
  const clock = t('2026-03-10T09:00:05Z');
  let customerId: string;
  let writer: StripeInvoiceItems;
  const linked = new Map<string, string>();
  const deps = (w: StripeInvoiceItems = writer) => ({
    writer: w,
    customerOf: async (tenantId: string) => (tenantId === 'acme' ? customerId : undefined),
    link: async (invoice: Invoice, id: string) => void linked.set(invoice.id, id),
  });
  const writes = () => emulator.calls().filter((c) => c.method !== 'GET');
  const refusal = async (call: Promise<unknown>) => {
    const error = (await call.then(() => undefined).catch((e: unknown) => e)) as Stripe.errors.StripeError;
    expect(error).toBeInstanceOf(Stripe.errors.StripeError);
    return { status: error.statusCode, message: error.message, param: error.param };
  };

  beforeAll(async () => {
    emulator = await startStripeEmulator({ now: () => clock });
    stripe = stripeClient({ secretKey: emulator.apiKey, apiBase: emulator.url });
    writer = new StripeInvoiceItems(async () => stripe);
    customerId = (await stripe.customers.create({ name: 'Acme' })).id;
  });
  afterAll(() => emulator?.stop());

  it('answers invoice creation as Stripe does: a one-off draft that takes pending items only when asked', async () => {
    const other = await stripe.customers.create({ name: 'Other' });
    await stripe.invoiceItems.create({ customer: other.id, amount: 700, currency: 'usd', description: 'Setup' });
    const bare = await stripe.invoices.create({ customer: other.id, pending_invoice_items_behavior: 'exclude', metadata: { k: 'v' } });
    expect(bare).toMatchObject({
      object: 'invoice',
      status: 'draft',
      billing_reason: 'manual',
      subscription: null,
      total: 0,
      lines: { data: [] },
      metadata: { k: 'v' },
      auto_advance: false,
    });
    // Omitted, the behaviour is exclude (Stripe's default since API version 2022-08-01).
    expect((await stripe.invoices.create({ customer: other.id })).total).toBe(0);
    const taking = await stripe.invoices.create({ customer: other.id, pending_invoice_items_behavior: 'include' });
    expect(taking.total).toBe(700);
    const open = await stripe.invoices.finalizeInvoice(taking.id!, { auto_advance: true });
    expect(open).toMatchObject({ status: 'open', auto_advance: true, amount_due: 700 });

    expect(await refusal(stripe.invoices.create({ customer: 'cus_nobody' }))).toMatchObject({ status: 400, param: 'customer' });
    expect(
      await refusal(stripe.invoices.create({ customer: other.id, pending_invoice_items_behavior: 'include_and_require' as 'include' })),
    ).toMatchObject({ status: 400, param: 'pending_invoice_items_behavior' });
    expect(await refusal(stripe.invoices.create({ customer: other.id, collection_method: 'send_invoice' }))).toMatchObject({
      status: 400,
      param: 'days_until_due',
    });
  });

  it('makes a progressive invoice a finalized Stripe invoice of its amount, once, recorded beside it', async () => {
    const first = progressive('INV-2026-000001', '60.00', 0);
    const before = writes().length;
    const id = await sendProgressiveInvoice(deps(), first);
    const sent = await stripe.invoices.retrieve(id!);
    expect(sent).toMatchObject({
      customer: customerId,
      status: 'open',
      total: 6000,
      amount_due: 6000,
      currency: 'usd',
      auto_advance: true,
      subscription: null,
      metadata: { meterline_invoice: first.id },
    });
    expect(sent.lines.data.map((l) => [l.amount, l.metadata])).toEqual([
      [6000, { meterline_invoice: first.id, meterline_line: 'progressive' }],
    ]);
    expect(linked.get(first.id)).toBe(id);
    const calls = writes().slice(before);
    expect(calls.map((c) => c.path.replace(id!, '<id>'))).toEqual(['/v1/invoices', '/v1/invoiceitems', '/v1/invoices/<id>/finalize']);
    expect(calls.map((c) => c.idempotencyKey)).toEqual([
      `meterline-progressive-${first.id}-invoice`,
      `meterline-item-${first.id}-progressive`,
      `meterline-progressive-${first.id}-finalize`,
    ]);

    // Run again, as recorded or not yet recorded: nothing more is written.
    expect(await sendProgressiveInvoice(deps(), { ...first, stripeInvoiceId: id })).toBe(id);
    expect(await sendProgressiveInvoice(deps(), first)).toBe(id);
    expect(writes().length).toBe(before + 3);
  });

  it('a crash between any two calls, and a re-run after the idempotency keys expired, sends nothing twice', async () => {
    for (const [n, crashAt] of (['createInvoice', 'createInvoiceItem', 'finalizeInvoice'] as const).entries()) {
      const invoice = progressive(`INV-2026-00001${n}`, '52.00', 1);
      const crashing = Object.create(writer) as StripeInvoiceItems;
      crashing[crashAt] = async (...args: never[]) => {
        await (writer[crashAt] as (...a: never[]) => Promise<unknown>).apply(writer, args);
        throw new Error('the function timed out after the call');
      };
      await expect(sendProgressiveInvoice(deps(crashing), invoice)).rejects.toThrow('timed out');
      expect(linked.has(invoice.id)).toBe(false);
      // Stripe has forgotten the keys (past 24 hours): what is already there is found instead.
      emulator.expireIdempotencyKeys();
      const id = await sendProgressiveInvoice(deps(), invoice);
      const own = (await stripe.invoices.list({ customer: customerId })).data.filter((i) => i.metadata?.meterline_invoice === invoice.id);
      expect(own.map((i) => [i.id, i.status, i.total])).toEqual([[id, 'open', 5200]]);
      expect(linked.get(invoice.id)).toBe(id);
    }
  });

  it('sends nothing for a tenant without a Stripe customer, nor for an invoice voided before it reached Stripe', async () => {
    const before = emulator.calls().length;
    expect(await sendProgressiveInvoice(deps(), { ...progressive('INV-2026-000020', '60.00', 0), tenantId: 'offline' })).toBeUndefined();
    expect(await sendProgressiveInvoice(deps(), { ...progressive('INV-2026-000021', '60.00', 0), status: 'void' })).toBeUndefined();
    expect(emulator.calls().length).toBe(before);
  });
});
