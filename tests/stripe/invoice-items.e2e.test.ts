import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import type { Invoice } from '../../shared/billing/invoices.js';
import { documentClient } from '../../shared/platform/dynamo/client.js';
import { stripeClient } from '../../shared/stripe/adapters/client.js';
import { DynamoStripeStore } from '../../shared/stripe/adapters/stripe-store.js';
import { api, createAdminKey, createTenant, eventually, startTestStack } from '../support/stack.js';

/**
 * The invoice job on the local stack puts the credit and true-up lines of the invoices it issues on Stripe's draft
 * invoice for the period (the emulator), once; a Stripe invoice already finalized gets none and raises a billing issue.
 */
const DAY = 86_400_000;
const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
// A monthly period that ended more than the 72-hour grace ago, so the invoice job closes it now.
const periodEnd = today - 4 * DAY;
const periodStart = Date.UTC(new Date(periodEnd).getUTCFullYear(), new Date(periodEnd).getUTCMonth() - 1, new Date(periodEnd).getUTCDate());
const stripePeriod = { start: periodStart / 1000, end: periodEnd / 1000 };

describe("credit and true-up lines on Stripe's invoice, from the invoice job", () => {
  let stack: LocalStack;
  let stripe: Stripe;
  let store: DynamoStripeStore;
  let admin: string;
  const keys: Record<string, string> = {};

  /** base-199 from `periodStart` with a $300 minimum that credits count toward, a $50 purchased grant, on Stripe. */
  const setUp = async (tenantId: string) => {
    keys[tenantId] = await createTenant(stack, tenantId);
    expect(
      await api(stack, 'PUT', `/v1/admin/tenants/${tenantId}/subscription`, admin, {
        planId: 'base-199',
        startAt: new Date(periodStart).toISOString(),
        commitment: { minimum: '300', creditsCount: true },
      }),
    ).toMatchObject({ status: 201 });
    expect(
      await api(stack, 'POST', `/v1/admin/tenants/${tenantId}/credits`, admin, {
        amount: '50',
        source: 'purchased',
        effectiveAt: new Date(periodStart).toISOString(),
      }),
    ).toMatchObject({ status: 201 });
    const customer = await stripe.customers.create({ name: tenantId });
    await store.saveCustomer(tenantId, customer.id);
    const product = await stripe.products.create({ name: 'Base fee' });
    const price = await stripe.prices.create({
      product: product.id,
      currency: 'usd',
      unit_amount: 19900,
      recurring: { interval: 'month' },
    });
    return (await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] })).id;
  };
  const invoiceOf = async (tenantId: string): Promise<Invoice> => {
    const [summary] = (await api(stack, 'GET', '/v1/invoices', keys[tenantId])).body.invoices;
    return (await api(stack, 'GET', `/v1/invoices/${summary.id}`, keys[tenantId])).body;
  };
  const itemWrites = () => stack.stripe!.calls().filter((c) => c.path.startsWith('/v1/invoiceitems') && c.method !== 'GET');

  beforeAll(async () => {
    stack = await startTestStack();
    stripe = stripeClient({ secretKey: stack.stripe!.apiKey, apiBase: stack.stripe!.url });
    store = new DynamoStripeStore(documentClient(stack.dynamo), stack.env.STRIPE_TABLE!);
    admin = await createAdminKey(stack);
  });
  afterAll(() => stack?.stop());

  it('adds them to the draft once, and flags a Stripe invoice finalized before them', async () => {
    const held = await setUp('held-co');
    const late = await setUp('late-co');
    const draft = await stack.stripe!.createInvoice(held, stripePeriod);
    const finalized = await stack.stripe!.finalizeInvoice(late, stripePeriod);

    expect(await stack.runSchedule('invoicing')).toMatchObject({ issued: 2 });
    // $199.00 base, −$50.00 of credits, and $199 spent of the $300 minimum: +$101.00. Total $250.00.
    const ours = await invoiceOf('held-co');
    // No usage: the usage lines are $0.00.
    expect(ours.lines.filter((l) => l.kind !== 'usage').map((l) => `${l.kind} ${l.amount}`)).toEqual([
      'base 199.00',
      'credit -50.00',
      'commitment 101.00',
    ]);
    expect(ours.total).toBe('250.00');
    const items = (await stripe.invoiceItems.list({ invoice: draft.id })).data;
    expect(items.map((i) => [i.metadata?.meterline_invoice, i.metadata?.meterline_line, i.amount]).sort()).toEqual([
      [ours.id, 'commitment', 10100],
      [ours.id, `credit:${ours.lines.find((l) => l.kind === 'credit')!.grantId}`, -5000],
    ]);
    const writes = itemWrites().length;
    expect(writes).toBe(2);

    // Stripe finalized late-co's invoice before Meterline issued its own: nothing added, a billing issue instead.
    expect((await stripe.invoiceItems.list({ invoice: finalized.id })).data).toEqual([]);
    const lateInvoice = await invoiceOf('late-co');
    expect(await store.issues('late-co')).toEqual([
      expect.objectContaining({
        id: `credit-note-needed:${lateInvoice.id}`,
        kind: 'CREDIT_NOTE_NEEDED',
        details: expect.objectContaining({
          stripeInvoiceId: finalized.id,
          differences: [
            { line: 'commitment', stripe: '0', meterline: '101' },
            { line: `credit:${lateInvoice.lines.find((l) => l.kind === 'credit')!.grantId}`, stripe: '0', meterline: '-50' },
          ],
        }),
      }),
    ]);

    // Stripe finalizes held-co's draft: the webhook reconciles it with Meterline's invoice and finds nothing. Its total
    // equals Meterline's here because the base fee Stripe bills in advance is the same each month: $199 − $50 + $101.
    const open = await stripe.invoices.finalizeInvoice(draft.id);
    expect(open.total).toBe(25000);
    const finalizedEvent = stack.stripe!.events().find((e) => e.type === 'invoice.finalized' && e.data.object.id === draft.id)!;
    await eventually(
      () => store.seenEvent(finalizedEvent.id),
      (seen) => seen,
    );
    expect((await store.issues('held-co')).filter((i) => i.kind === 'RECONCILIATION_MISMATCH')).toEqual([]);

    // The next run closes nothing and sends nothing.
    expect(await stack.runSchedule('invoicing')).toMatchObject({ issued: 0 });
    expect(itemWrites().length).toBe(writes);
  });
});
