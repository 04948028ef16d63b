import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { LOCAL_WEBHOOK_SECRET } from '../../local/stripe-emulator/server.js';
import type { Invoice } from '../../shared/billing/invoices.js';
import { documentClient } from '../../shared/platform/dynamo/client.js';
import { stripeClient } from '../../shared/stripe/adapters/client.js';
import { DynamoStripeStore } from '../../shared/stripe/adapters/stripe-store.js';
import { api, createAdminKey, createTenant, eventually, startTestStack } from '../support/stack.js';

/**
 * Stripe payment status on the local stack: the emulator signs and POSTs invoice events to the webhook's
 * function URL with the local webhook secret, as Stripe does; Meterline's invoice for the same customer
 * and period follows them.
 */
const DAY = 86_400_000;
const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
// A monthly period that ended more than the 72-hour grace ago, so the invoice job closes it now.
const periodEnd = today - 4 * DAY;
const periodStart = Date.UTC(new Date(periodEnd).getUTCFullYear(), new Date(periodEnd).getUTCMonth() - 1, new Date(periodEnd).getUTCDate());

describe('Meterline invoices follow Stripe payment status', () => {
  let stack: LocalStack;
  let stripe: Stripe;
  let store: DynamoStripeStore;
  let admin: string;
  let url: string;
  const keys: Record<string, string> = {};

  /** A tenant subscribed from `periodStart`, with a Stripe customer and a Stripe subscription; the subscription id. */
  const setUp = async (tenantId: string) => {
    keys[tenantId] = await createTenant(stack, tenantId);
    expect(
      await api(stack, 'PUT', `/v1/admin/tenants/${tenantId}/subscription`, admin, {
        planId: 'base-199',
        startAt: new Date(periodStart).toISOString(),
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
  const stripePeriod = { start: periodStart / 1000, end: periodEnd / 1000 };

  beforeAll(async () => {
    stack = await startTestStack();
    stripe = stripeClient({ secretKey: stack.stripe!.apiKey, apiBase: stack.stripe!.url });
    store = new DynamoStripeStore(documentClient(stack.dynamo), stack.env.STRIPE_TABLE!);
    admin = await createAdminKey(stack);
    url = stack.functionUrls['stripe-webhook']!;
  });
  afterAll(() => stack?.stop());

  it("marks Meterline's invoice paid when Stripe's invoice.paid arrives, keeping the hosted invoice URL", async () => {
    const subscriptionId = await setUp('pay-co');
    expect(await stack.runSchedule('invoicing')).toMatchObject({ issued: 1 });
    expect(await invoiceOf('pay-co')).toMatchObject({ status: 'open', periodStart: new Date(periodStart).toISOString() });

    const stripeInvoice = await stack.stripe!.finalizeInvoice(subscriptionId, stripePeriod);
    const linked = await eventually(
      () => invoiceOf('pay-co'),
      (i) => i.hostedInvoiceUrl === stripeInvoice.hosted_invoice_url,
    );
    expect(linked).toMatchObject({ status: 'open', stripeInvoiceId: stripeInvoice.id });

    await expect(stripe.invoices.pay(stripeInvoice.id, { payment_method: 'pm_card_chargeDeclined' })).rejects.toMatchObject({
      type: 'StripeCardError',
    });
    await eventually(
      () => store.issues('pay-co'),
      (a) => a.some((x) => x.kind === 'PAYMENT_FAILED'),
    );
    expect(await invoiceOf('pay-co')).toMatchObject({ status: 'open' });

    await stripe.invoices.pay(stripeInvoice.id);
    const paid = await eventually(
      () => invoiceOf('pay-co'),
      (i) => i.status === 'paid',
    );
    expect(paid.statusHistory.map((h) => h.status)).toEqual(['open', 'paid']);
    // The status is written before the event is published.
    const changes = await eventually(
      async () =>
        stack.eventBus.events
          .map((e) => e.detail as { type: string; tenantId: string; data: Record<string, unknown> })
          .filter((d) => d.type === 'invoice.status_changed' && d.tenantId === 'pay-co'),
      (c) => c.length > 0,
    );
    expect(changes).toMatchObject([
      {
        data: {
          from: 'open',
          to: 'paid',
          source: 'stripe',
          stripeInvoiceId: stripeInvoice.id,
          hostedInvoiceUrl: stripeInvoice.hosted_invoice_url,
        },
      },
    ]);
  });

  it('leaves the right final status when events come again, late or out of order', async () => {
    const events = stack.stripe!.events().filter((e) => e.data.object.customer && e.type.startsWith('invoice.'));
    const paidEvent = events.find((e) => e.type === 'invoice.paid')!;
    await eventually(
      () => store.seenEvent(paidEvent.id),
      (seen) => seen,
    );
    const send = (event: object) => stack.stripe!.sendWebhook(url, JSON.stringify(event), LOCAL_WEBHOOK_SECRET);
    // The same event again: acknowledged, no effect.
    expect(await send(paidEvent)).toMatchObject({ status: 200, body: expect.stringContaining('duplicate') });
    // An older event delivered late (finalized: the invoice was open) does not reopen it.
    const finalized = events.find((e) => e.type === 'invoice.finalized')!;
    expect(await send({ ...finalized, id: `${finalized.id}_late` })).toMatchObject({ status: 200 });
    // Stripe's earlier attempt to give up on it arrives after the payment: paid is final.
    const uncollectible = {
      ...paidEvent,
      id: `${paidEvent.id}_u`,
      type: 'invoice.marked_uncollectible',
      created: paidEvent.created - 1,
      data: { object: { ...paidEvent.data.object, status: 'uncollectible' } },
    };
    expect(await send(uncollectible)).toMatchObject({ status: 200 });
    // Even a newer event cannot take a paid invoice anywhere.
    const voided = {
      ...paidEvent,
      id: `${paidEvent.id}_v`,
      type: 'invoice.voided',
      created: paidEvent.created + 5,
      data: { object: { ...paidEvent.data.object, status: 'void' } },
    };
    expect(await send(voided)).toMatchObject({ status: 200 });
    expect(await invoiceOf('pay-co')).toMatchObject({ status: 'paid', statusHistory: [{ status: 'open' }, { status: 'paid' }] });
  });

  it('marks uncollectible then void, in order, and an invoice Stripe settled before Meterline issued its own starts out settled', async () => {
    const subscriptionId = await setUp('late-co');
    const stripeInvoice = await stack.stripe!.finalizeInvoice(subscriptionId, stripePeriod);
    await stripe.invoices.markUncollectible(stripeInvoice.id);
    await eventually(
      () => store.invoice('late-co', stripeInvoice.id),
      (m) => m?.state.status === 'uncollectible',
    );
    // Meterline closes the period only now: its invoice follows the mirrored Stripe invoice at once.
    await stack.runSchedule('invoicing');
    expect(await invoiceOf('late-co')).toMatchObject({ status: 'uncollectible', stripeInvoiceId: stripeInvoice.id });
    await stripe.invoices.voidInvoice(stripeInvoice.id);
    const voided = await eventually(
      () => invoiceOf('late-co'),
      (i) => i.status === 'void',
    );
    expect(voided.statusHistory.map((h) => h.status)).toEqual(['open', 'uncollectible', 'void']);
    await expect(stripe.invoices.pay(stripeInvoice.id)).rejects.toMatchObject({ type: 'StripeInvalidRequestError' });
  });
});
