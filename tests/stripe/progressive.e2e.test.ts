import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertRun } from '../../functions/alert-evaluator/alert-evaluator.js';
import type { LocalStack } from '../../local/stack.js';
import type { Invoice } from '../../shared/billing/invoices.js';
import type { Plan } from '../../shared/billing/plans.js';
import { Dec } from '../../shared/kernel/decimal.js';
import { seedMeters } from '../../shared/metering/seed-meters.js';
import { documentClient } from '../../shared/platform/dynamo/client.js';
import { stripeClient } from '../../shared/stripe/adapters/client.js';
import { DynamoStripeStore } from '../../shared/stripe/adapters/stripe-store.js';
import { StripeUsageReporter } from '../../shared/stripe/adapters/usage-reporter.js';
import { meterReporting } from '../../shared/stripe/meter-reporting.js';
import { planPriceSpecs } from '../../shared/stripe/products.js';
import { api, createAdminKey, createTenant, eventually, startTestStack } from '../support/stack.js';

const HOUR = 3_600_000;
const monthStart = (add = 0) => Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth() + add, 1);

/**
 * Progressive invoices reach Stripe on the local stack: the alert evaluator makes each a finalized one-off Stripe
 * invoice (the emulator) of its amount, once; the invoice job puts the period's "Already invoiced" lines on Stripe's
 * cycle invoice as negative items; Stripe's invoices for the period add up to Meterline's, to the cent.
 */
describe('progressive invoices on Stripe, on the local stack', () => {
  let stack: LocalStack;
  let stripe: Stripe;
  let store: DynamoStripeStore;
  let key: string;
  let admin: string;
  const evaluate = () => stack.runSchedule('alert-evaluator', new Date()) as Promise<AlertRun>;
  let sent = 0;
  const jobs = async (n: number) => {
    const at = new Date(Math.max(monthStart(), Date.now() - 60_000)).toISOString();
    const events = Array.from({ length: n }, () => ({ id: `job-${sent++}`, meter: 'ai_jobs', timestamp: at, properties: {} }));
    expect(await api(stack, 'POST', '/v1/events', key, events)).toMatchObject({ status: 202 });
    await stack.drained();
  };
  const oneOffs = async (customer: string) =>
    (await stripe.invoices.list({ customer, limit: 100 })).data.filter((i) => i.billing_reason === 'manual');

  // $1.00 a job up to 100 in the month, every job at $0.80 beyond; invoice at $50, then every $50.
  const plan = {
    name: 'Surge',
    currency: 'USD',
    interval: 'month',
    baseFee: '0',
    prices: {
      ai_jobs: {
        model: 'volume',
        tiers: [
          { upTo: '100', unitPrice: '1.00' },
          { upTo: null, unitPrice: '0.80' },
        ],
      },
    },
    thresholds: { amount: '50.00', every: '50.00' },
  } as const;

  beforeAll(async () => {
    stack = await startTestStack();
    stripe = stripeClient({ secretKey: stack.stripe!.apiKey, apiBase: stack.stripe!.url });
    store = new DynamoStripeStore(documentClient(stack.dynamo), stack.env.STRIPE_TABLE!);
    key = await createTenant(stack, 'surge-pay');
    admin = await createAdminKey(stack);
  });
  afterAll(() => stack?.stop());

  it('invoices each crossing on Stripe once, and deducts them from the period’s Stripe invoice to the cent', async () => {
    const saved = await api(stack, 'PUT', '/v1/admin/plans/surge', admin, plan);
    expect(saved).toMatchObject({ status: 200 });
    const subscription = { planId: 'surge', startAt: new Date(monthStart()).toISOString() };
    expect(await api(stack, 'PUT', '/v1/admin/tenants/surge-pay/subscription', admin, subscription)).toMatchObject({ status: 201 });

    // The tenant on Stripe: its customer, the meter and the plan's metered price, and a subscription billing the month
    // (what the daily report sets up; its meter events are sent below, as the report would).
    const reporter = new StripeUsageReporter(async () => stripe, { meterEventsPerSecond: 1000, requestsPerSecond: 1000 });
    const customer = await reporter.createCustomer({ id: 'surge-pay', name: 'Surge' });
    await store.saveCustomer('surge-pay', customer);
    const reporting = meterReporting(seedMeters.find((m) => m.key === 'ai_jobs')!);
    const meterId = await reporter.ensureMeter(reporting);
    const prices = await reporter.ensurePrices(
      { id: 'surge', name: 'Surge' },
      planPriceSpecs(saved.body as Plan, seedMeters),
      new Map([[reporting.eventName, meterId]]),
    );
    const subscriptionId = (await stripe.subscriptions.create({ customer, items: [...prices.values()].map((price) => ({ price })) })).id;

    await jobs(60); // $60.00: the $50 threshold
    const runs = await Promise.all([evaluate(), evaluate()]);
    expect(runs.reduce((n, r) => n + r.progressiveInvoices, 0)).toBe(1);
    let [first] = (await api(stack, 'GET', '/v1/invoices', key)).body.invoices as Invoice[];
    first = (await api(stack, 'GET', `/v1/invoices/${first!.id}`, key)).body;
    let stripeInvoices = await oneOffs(customer);
    expect(stripeInvoices.map((i) => [i.status, i.total, i.currency, i.metadata?.meterline_invoice])).toEqual([
      ['open', 6000, 'usd', first!.id],
    ]);
    expect(first!.stripeInvoiceId).toBe(stripeInvoices[0]!.id);

    // A second check sends nothing more.
    const writes = () => stack.stripe!.calls().filter((c) => c.method !== 'GET').length;
    const before = writes();
    expect((await evaluate()).progressiveInvoices).toBe(0);
    expect(writes()).toBe(before);

    await jobs(80); // 140 jobs at $0.80 = $112.00: the $100 threshold, $52.00 more
    expect((await evaluate()).progressiveInvoices).toBe(1);
    await jobs(10); // 150 jobs at $0.80 = $120.00: no threshold
    expect((await evaluate()).progressiveInvoices).toBe(0);
    const second = (await api(stack, 'GET', '/v1/invoices', key)).body.invoices[0] as Invoice;
    stripeInvoices = await oneOffs(customer);
    expect(stripeInvoices.map((i) => [i.status, i.total, i.metadata?.meterline_invoice])).toEqual([
      ['open', 5200, second.id],
      ['open', 6000, first!.id],
    ]);

    // Stripe bills the month's 150 jobs from its meter on the cycle invoice, a draft until Meterline's close reaches it.
    await stripe.billing.meterEvents.create({
      event_name: reporting.eventName,
      identifier: 'surge-pay:ai_jobs:month',
      timestamp: Math.floor(Date.now() / 1000) - 60,
      payload: { stripe_customer_id: customer, value: '150' },
    });
    const draft = await stack.stripe!.createInvoice(subscriptionId, { start: monthStart() / 1000, end: monthStart(1) / 1000 });
    expect(draft.total).toBe(12000);

    expect(await stack.runSchedule('invoicing', new Date(monthStart(1) + 73 * HOUR))).toMatchObject({ issued: 1, failedTenants: [] });
    const final = (await api(stack, 'GET', '/v1/invoices', key)).body.invoices[0] as Invoice;
    expect(final.total).toBe('8.00'); // $120.00 − $60.00 − $52.00
    const items = (await stripe.invoiceItems.list({ invoice: draft.id })).data;
    expect(items.map((i) => [i.metadata?.meterline_line, i.amount]).sort()).toEqual([
      [`progressive:${first!.id}`, -6000],
      [`progressive:${second.id}`, -5200],
    ]);
    const cycle = await stripe.invoices.finalizeInvoice(draft.id);
    expect(cycle.total).toBe(800);
    const stripeTotal = [...stripeInvoices, cycle].reduce((sum, i) => sum + i.total, 0);
    const meterlineTotal = [first!, second, final].reduce((sum, i) => sum + new Dec(i.total).times(100).toNumber(), 0);
    expect(stripeTotal).toBe(12000);
    expect(stripeTotal).toBe(meterlineTotal);

    // The webhook reconciles the cycle invoice, items included, and leaves the one-off ones alone: no billing issue.
    const finalized = stack.stripe!.events().filter((e) => e.type === 'invoice.finalized');
    expect(finalized).toHaveLength(3);
    for (const event of finalized)
      await eventually(
        () => store.seenEvent(event.id),
        (seen) => seen,
      );
    expect(await store.issues('surge-pay')).toEqual([]);
  });
});
