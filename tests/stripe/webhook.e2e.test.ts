import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { LOCAL_WEBHOOK_SECRET } from '../../local/stripe-emulator/server.js';
import { periodKey } from '../../shared/kernel/periods.js';
import { documentClient } from '../../shared/platform/dynamo/client.js';
import { stripeClient } from '../../shared/stripe/adapters/client.js';
import { DynamoStripeStore } from '../../shared/stripe/adapters/stripe-store.js';
import { officialSample } from '../support/events.js';
import { api, createAdminKey, createTenant, eventually, startTestStack } from '../support/stack.js';

/** Stripe → Meterline on the local stack: the emulator signs and POSTs its events to the function URL. */
const yesterday = periodKey('day', Date.now() - 86_400_000);
const due = new Date(Date.parse(`${periodKey('day', Date.now())}T01:00:00Z`));

describe('Stripe webhooks end to end', () => {
  let stack: LocalStack;
  let store: DynamoStripeStore;
  let url: string;
  let subscriptionId: string;
  let meterId: string;
  let key: string;

  beforeAll(async () => {
    stack = await startTestStack();
    store = new DynamoStripeStore(documentClient(stack.dynamo), stack.env.STRIPE_TABLE!);
    url = stack.functionUrls['stripe-webhook']!;
    key = await createTenant(stack, 'acme');
    const events = [1, 2, 3].map((n) => ({ id: `o-${n}`, meter: 'orders', timestamp: `${yesterday}T1${n}:00:00Z` }));
    expect(await api(stack, 'POST', '/v1/events', key, { events })).toMatchObject({ status: 202 });
    await stack.drained();
    expect(await stack.runReport(due)).toMatchObject({ sent: 1, failed: 0 });
  });
  afterAll(() => stack.stop());

  it('mirrors a subscription created and updated in Stripe', async () => {
    const stripe = stripeClient({ secretKey: stack.stripe!.apiKey, apiBase: stack.stripe!.url });
    meterId = (await stripe.billing.meters.list()).data.find((m) => m.event_name === 'meterline_orders_count')!.id;
    const product = await stripe.products.create({ name: 'Orders' });
    const price = await stripe.prices.create({
      product: product.id,
      currency: 'usd',
      unit_amount_decimal: Stripe.Decimal.from('25'),
      recurring: { interval: 'month', usage_type: 'metered', meter: meterId },
    });
    const customer = (await store.customerOf('acme'))!;
    subscriptionId = (await stripe.subscriptions.create({ customer, items: [{ price: price.id }] })).id;
    const created = await eventually(
      () => store.subscription('acme', subscriptionId),
      (s) => s !== undefined,
    );
    expect(created!.state).toMatchObject({ customerId: customer, status: 'active', items: [{ priceId: price.id, meterId }] });
    await stripe.subscriptions.update(subscriptionId, { cancel_at_period_end: true });
    await eventually(
      () => store.subscription('acme', subscriptionId),
      (s) => s?.state.cancelAtPeriodEnd === true,
    );
  });

  it('answers the official function URL sample and bad signatures with 400', async () => {
    const sample = officialSample<{ body: string }>('lambda-urls-request.json');
    expect((await fetch(url, { method: 'POST', body: sample.body })).status).toBe(400);
    const event = JSON.stringify(stack.stripe!.events()[0]);
    expect((await stack.stripe!.sendWebhook(url, event, 'whsec_wrong')).status).toBe(400);
    expect((await stack.stripe!.sendWebhook(url, event, LOCAL_WEBHOOK_SECRET, Math.floor(Date.now() / 1000) - 301)).status).toBe(400);
    expect((await stack.stripe!.sendWebhook(url, event, LOCAL_WEBHOOK_SECRET)).status).toBe(200);
  });

  it("reconciles a finalized invoice against Meterline's and raises a billing issue on a difference", async () => {
    const start = Date.parse(`${yesterday.slice(0, 7)}-01T00:00:00Z`) / 1000;
    const end = Date.UTC(new Date(start * 1000).getUTCFullYear(), new Date(start * 1000).getUTCMonth() + 1, 1) / 1000;
    const invoice = await stack.stripe!.finalizeInvoice(subscriptionId, { start, end });
    expect(invoice.lines.data[0]).toMatchObject({ quantity: 3, amount: 75 });
    const mirrored = await eventually(
      () => store.invoice('acme', invoice.id),
      (i) => i?.state.status === 'open',
    );
    expect(mirrored!.state).toMatchObject({ total: 75, lines: [{ quantity: '3', amount: 75 }] });
    // Meterline's invoicing has not closed this period, so Stripe's invoice has nothing to match.
    const issues = await eventually(
      () => store.issues('acme'),
      (a) => a.some((x) => x.kind === 'RECONCILIATION_MISMATCH'),
    );
    expect(issues.find((a) => a.id === `reconciliation:${invoice.id}`)).toMatchObject({
      details: { mismatches: [{ kind: 'MISSING_OWN_INVOICE', provider: '0.75' }] },
    });
    // The tenant hears of it too: on the event bus (and its webhook endpoints) as reconciliation.mismatch.
    const announced = await eventually(
      async () => stack.eventBus.events.map((e) => e.detail as { id: string }),
      (events) => events.some((e) => e.id === `reconciliation.mismatch:acme:${invoice.id}`),
    );
    expect(announced).toContainEqual(
      expect.objectContaining({
        id: `reconciliation.mismatch:acme:${invoice.id}`,
        data: expect.objectContaining({ stripeInvoiceId: invoice.id, mismatches: [{ kind: 'MISSING_OWN_INVOICE', stripe: '0.75' }] }),
      }),
    );
    // Operators list them through the admin API; a tenant key may not.
    const admin = await createAdminKey(stack);
    const listed = await api(stack, 'GET', '/v1/admin/billing-issues?kind=RECONCILIATION_MISMATCH', admin);
    expect(listed).toMatchObject({ status: 200, body: { issues: [{ id: `reconciliation:${invoice.id}`, tenantId: 'acme' }] } });
    expect((await api(stack, 'GET', '/v1/admin/billing-issues', key)).status).toBe(403);
  });

  it('fetches a meter error report (thin event) and raises a billing issue for the tenant', async () => {
    const notification = stack.stripe!.meterErrorReport(meterId, {
      code: 'meter_event_customer_not_found',
      message: 'customer not found',
      identifier: `acme:orders:${yesterday}`,
    });
    const res = await stack.stripe!.sendWebhook(url, JSON.stringify(notification), LOCAL_WEBHOOK_SECRET);
    expect(res.status).toBe(200);
    const issues = await store.issues('acme');
    expect(issues.find((a) => a.id === `meter-error:${notification.id}`)).toMatchObject({
      kind: 'METER_ERROR_REPORT',
      details: { meterId, errors: [{ code: 'meter_event_customer_not_found', count: 1 }] },
    });
    expect(stack.eventBus.events.map((e) => e.detail)).toContainEqual(
      expect.objectContaining({
        id: `stripe.report_failed:acme:${notification.id}`,
        data: { source: 'stripe_error_report', errors: [{ code: 'meter_event_customer_not_found', message: 'customer not found' }] },
      }),
    );
  });

  it('answers 200 to correctly signed events it can never process and lists them for operators', async () => {
    const post = (event: object) => {
      const body = JSON.stringify(event);
      const signature = Stripe.webhooks.generateTestHeaderString({ payload: body, secret: LOCAL_WEBHOOK_SECRET });
      return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': signature }, body });
    };
    const created = Math.floor(Date.now() / 1000);
    expect(
      (await post({ id: 'evt_empty_invoice', object: 'event', created, type: 'invoice.finalized', data: { object: {} } })).status,
    ).toBe(200);
    expect((await post({ id: 'evt_without_data', object: 'event', created, type: 'customer.subscription.updated' })).status).toBe(200);
    const admin = await createAdminKey(stack);
    const { body } = await api(stack, 'GET', '/v1/admin/billing-issues?kind=UNPROCESSABLE_WEBHOOK', admin);
    expect(body.issues.map((a: { id: string }) => a.id).sort()).toEqual([
      'unprocessable-webhook:evt_empty_invoice',
      'unprocessable-webhook:evt_without_data',
    ]);
  });
});
