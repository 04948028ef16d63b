import fc from 'fast-check';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StripeEmulator, startStripeEmulator } from '../../local/stripe-emulator/server.js';
import type { Invoice, InvoiceDraft } from '../../shared/billing/invoices.js';
import { seedMeters } from '../../shared/metering/seed-meters.js';
import { stripeClient } from '../../shared/stripe/adapters/client.js';
import { StripeInvoiceItems } from '../../shared/stripe/adapters/invoice-items.js';
import { StripeUsageReporter } from '../../shared/stripe/adapters/usage-reporter.js';
import { StripeWebhookAdapter } from '../../shared/stripe/adapters/webhooks.js';
import {
  inMinorUnits,
  itemDifferences,
  type PlacedItem,
  type ProviderInvoiceItem,
  planInvoiceItems,
  providerInvoiceItems,
} from '../../shared/stripe/invoice-items.js';
import { sendInvoiceItems } from '../../shared/stripe/invoice-sync.js';
import { meterReporting } from '../../shared/stripe/meter-reporting.js';
import { type BillingIssue, meterlineInvoice, reconcile } from '../../shared/stripe/mirror.js';
import { planPriceSpecs } from '../../shared/stripe/products.js';
import { jobsPlan, MARCH, t, world } from '../billing/credit-world.js';

/**
 * Credit and true-up lines reach Stripe as invoice items on its draft invoice for the period, so Stripe
 * collects what Meterline's invoice says: the pure plan, the local emulator answering the real stripe-node
 * client as Stripe does, and a hand-computed scenario end to end.
 */
const issued = (draft: InvoiceDraft, id: string): Invoice => ({
  ...draft,
  id,
  number: id,
  status: 'open',
  issuedAt: '2026-04-04T00:05:00.000Z',
  statusHistory: [{ status: 'open', at: '2026-04-04T00:05:00.000Z' }],
});

const item = (invoiceId: string, line: string, amount: number): ProviderInvoiceItem => ({
  invoiceId,
  line,
  amount,
  currency: 'usd',
  description: line,
  idempotencyKey: `meterline-item-${invoiceId}-${line}`,
});

describe('credit and true-up lines as Stripe invoice items (pure)', () => {
  it('one item per credit or true-up line, in cents, with a key per invoice line; usage and base fees are left to the meters', () => {
    const items = providerInvoiceItems({
      id: 'INV-2026-000007',
      currency: 'USD',
      lines: [
        { kind: 'base', description: 'Base fee', quantity: '1', amount: '0.00' },
        { kind: 'usage', description: 'AI jobs', quantity: '400', amount: '800.00', meter: 'ai_jobs' },
        {
          kind: 'credit',
          description: 'Prepaid credits applied (grant g_500, purchased)',
          quantity: '1',
          amount: '-500.00',
          grantId: 'g_500',
        },
        { kind: 'commitment', description: 'Minimum commitment true-up', quantity: '1', amount: '200.00' },
      ],
    });
    expect(items.map(({ line, amount, idempotencyKey }) => ({ line, amount, idempotencyKey }))).toEqual([
      { line: 'credit:g_500', amount: -50000, idempotencyKey: 'meterline-item-INV-2026-000007-credit:g_500' },
      { line: 'commitment', amount: 20000, idempotencyKey: 'meterline-item-INV-2026-000007-commitment' },
    ]);
  });

  it("a reissue's items replace the replaced invoice's; what is already there is not sent again", () => {
    const placed: PlacedItem[] = [
      { id: 'ii_1', invoiceId: 'INV-1', line: 'credit:g_500', amount: -50000 },
      { id: 'ii_2', invoiceId: 'INV-1', line: 'commitment', amount: 20000 },
    ];
    const wanted = [item('INV-2', 'credit:g_500', -50000), item('INV-2', 'commitment', 30000)];
    expect(planInvoiceItems(wanted, placed)).toEqual({ create: wanted, remove: placed });
    const after = wanted.map((w, i) => ({ id: `ii_${i + 3}`, invoiceId: w.invoiceId, line: w.line, amount: w.amount }));
    expect(planInvoiceItems(wanted, after)).toEqual({ create: [], remove: [] });
    // Compared by line once Stripe has finalized: only the true-up differs.
    expect(itemDifferences(wanted, placed)).toEqual([{ line: 'commitment', provider: 20000, meterline: 30000 }]);
  });

  it('sends nothing without lines to send, for a tenant not on Stripe, or where Stripe has no invoice for the period (an issue then)', async () => {
    const w = world([jobsPlan], [{ meter: 'ai_jobs', at: '2026-03-10T00:00:00Z', quantity: 10 }]);
    const plain = issued(await w.close(MARCH), 'INV-9');
    const credited = issued(await world([jobsPlan], []).close(MARCH), 'INV-10');
    const withCredit = {
      ...credited,
      lines: [...credited.lines, { kind: 'credit' as const, description: 'Prepaid', quantity: '1', amount: '-5.00', grantId: 'g_5' }],
    };
    const calls: string[] = [];
    const raised: BillingIssue[] = [];
    const deps = (customer: string | undefined) => ({
      writer: {
        periodInvoice: async () => void calls.push('periodInvoice'),
        createInvoiceItem: async () => void calls.push('create'),
        deleteInvoiceItem: async () => void calls.push('delete'),
      },
      customerOf: async () => customer,
      raiseIssue: async (i: BillingIssue) => void raised.push(i),
      now: () => t('2026-04-04T00:05:00Z'),
    });
    expect(await sendInvoiceItems(deps('cus_1'), plain)).toMatchObject({ target: 'nothing' });
    expect(await sendInvoiceItems(deps(undefined), withCredit)).toMatchObject({ target: 'no-customer' });
    expect(calls).toEqual([]);
    expect(await sendInvoiceItems(deps('cus_1'), withCredit)).toMatchObject({ target: 'no-provider-invoice', differences: 1 });
    expect(calls).toEqual(['periodInvoice']);
    expect(raised).toMatchObject([
      {
        id: 'credit-note-needed:INV-10',
        kind: 'CREDIT_NOTE_NEEDED',
        details: { stripeInvoiceId: null, differences: [{ line: 'credit:g_5', stripe: '0', meterline: '-5' }] },
      },
    ]);
  });

  it('property: applying the plan to any draft leaves exactly the wanted items, and a second plan is empty', () => {
    const lines = fc.constantFrom('credit:g_1', 'credit:g_2', 'credit:g_3', 'commitment');
    const invoices = fc.constantFrom('INV-1', 'INV-2', 'INV-3');
    const entry = fc.record({ invoiceId: invoices, line: lines, amount: fc.integer({ min: -10_000_000, max: 10_000_000 }) });
    fc.assert(
      fc.property(fc.uniqueArray(entry, { selector: (e) => `${e.invoiceId}|${e.line}` }), fc.array(entry), (wanted, existing) => {
        const placed = existing.map((e, i) => ({ ...e, id: `ii_${i}` }));
        const plan = planInvoiceItems(
          wanted.map((w) => item(w.invoiceId, w.line, w.amount)),
          placed,
        );
        const removed = new Set(plan.remove.map((r) => r.id));
        const after = [
          ...placed.filter((p) => !removed.has(p.id)),
          ...plan.create.map((c, i) => ({ id: `new_${i}`, invoiceId: c.invoiceId, line: c.line, amount: c.amount })),
        ];
        const keys = (xs: { invoiceId: string; line: string }[]) => xs.map((x) => `${x.invoiceId}|${x.line}`).sort();
        expect(keys(after)).toEqual(keys(wanted));
        expect(
          planInvoiceItems(
            wanted.map((w) => item(w.invoiceId, w.line, w.amount)),
            after,
          ),
        ).toEqual({ create: [], remove: [] });
      }),
    );
  });
});

describe('Stripe invoice items through the emulator and the real stripe-node client', () => {
  let emulator: StripeEmulator;
  let stripe: Stripe;
  let clock = t('2026-03-31T12:00:00Z');
  let customerId: string;
  let subscriptionId: string;
  let eventName: string;
  const issues: BillingIssue[] = [];
  let writer: StripeInvoiceItems;
  const deps = () => ({
    writer,
    customerOf: async (tenantId: string) => (tenantId === 'acme' ? customerId : undefined),
    raiseIssue: async (issue: BillingIssue) => void issues.push(issue),
    now: () => clock,
  });
  const itemCalls = () => emulator.calls().filter((c) => c.path.startsWith('/v1/invoiceitems') && c.method !== 'GET');
  const refusal = async (call: Promise<unknown>) => {
    const error = (await call.then(() => undefined).catch((e: unknown) => e)) as Stripe.errors.StripeError;
    expect(error).toBeInstanceOf(Stripe.errors.StripeError);
    return { status: error.statusCode, type: error.type, message: error.message, param: error.param };
  };

  // AI jobs at $2.00 each ($0 base fee), a $500 purchased grant, and a $1,000 minimum that credits count toward.
  const plan = { ...jobsPlan, commitment: { minimum: '1000', creditsCount: true } };
  const aiJobs = seedMeters.find((m) => m.key === 'ai_jobs')!;

  beforeAll(async () => {
    emulator = await startStripeEmulator({ now: () => clock });
    stripe = stripeClient({ secretKey: emulator.apiKey, apiBase: emulator.url });
    writer = new StripeInvoiceItems(async () => stripe);
    const reporter = new StripeUsageReporter(async () => stripe, { meterEventsPerSecond: 1000, requestsPerSecond: 1000 });
    customerId = await reporter.createCustomer({ id: 'acme', name: 'Acme' });
    const reporting = meterReporting(aiJobs);
    eventName = reporting.eventName;
    const meterId = await reporter.ensureMeter(reporting);
    const prices = await reporter.ensurePrices(plan, planPriceSpecs(plan, [aiJobs]), new Map([[eventName, meterId]]));
    subscriptionId = (
      await stripe.subscriptions.create({
        customer: customerId,
        items: [...prices.values()].map((price) => ({ price })),
        backdate_start_date: MARCH.start / 1000,
        billing_cycle_anchor: MARCH.end / 1000,
      })
    ).id;
  });
  afterAll(() => emulator?.stop());

  it('answers invoice item calls as Stripe does: drafts only, whole cents, a known customer and invoice', async () => {
    clock = t('2026-03-31T12:00:00Z');
    const other = await stripe.customers.create({ name: 'Other' });
    const sub = await stripe.subscriptions.create({ customer: other.id, items: [{ price: (await stripe.prices.list()).data[0]!.id }] });
    // Pending until the customer's next invoice, which takes it.
    const pending = await stripe.invoiceItems.create({ customer: other.id, amount: -1500, currency: 'usd', description: 'Goodwill' });
    expect(pending).toMatchObject({ object: 'invoiceitem', invoice: null, amount: -1500, discountable: false });
    expect((await stripe.invoiceItems.list({ customer: other.id, pending: true })).data.map((i) => i.id)).toEqual([pending.id]);
    const open = await emulator.finalizeInvoice(sub.id, { start: MARCH.start / 1000, end: MARCH.end / 1000 });
    expect(
      open.lines.data.find(
        (l: { parent: { invoice_item_details?: { invoice_item: string } } }) => l.parent.invoice_item_details?.invoice_item === pending.id,
      ),
    ).toMatchObject({ amount: -1500 });
    expect(open.total).toBe(-1500);

    expect(await refusal(stripe.invoiceItems.create({ customer: other.id, invoice: open.id, amount: 100, currency: 'usd' }))).toEqual({
      status: 400,
      type: 'StripeInvalidRequestError',
      message: 'You can only add invoice items to draft invoices.',
      param: 'invoice',
    });
    expect(await refusal(stripe.invoiceItems.del(pending.id))).toMatchObject({ status: 400 });
    expect(await refusal(stripe.invoices.finalizeInvoice(open.id))).toMatchObject({ status: 400 });
    expect(await refusal(stripe.invoiceItems.create({ customer: 'cus_nobody', amount: 100, currency: 'usd' }))).toMatchObject({
      status: 400,
      message: "No such customer: 'cus_nobody'",
      param: 'customer',
    });
    expect(
      await refusal(stripe.invoiceItems.create({ customer: other.id, invoice: 'in_nothing', amount: 100, currency: 'usd' })),
    ).toMatchObject({
      status: 400,
      param: 'invoice',
    });
    expect(
      await refusal(stripe.invoiceItems.create({ customer: other.id, amount: '1.5' as unknown as number, currency: 'usd' })),
    ).toMatchObject({ status: 400, message: 'Invalid integer: 1.5', param: 'amount' });
  });

  it("holds a draft until Meterline's lines can reach it (automatically_finalizes_at); an open invoice refuses", async () => {
    clock = t('2026-04-01T01:00:00Z');
    const provider = new StripeWebhookAdapter(async () => ({ stripe, secrets: { secretKey: emulator.apiKey } }));
    const held = await stripe.customers.create({ name: 'Held' });
    const sub = await stripe.subscriptions.create({ customer: held.id, items: [{ price: (await stripe.prices.list()).data[0]!.id }] });
    const draft = await emulator.createInvoice(sub.id, { start: MARCH.start / 1000, end: MARCH.end / 1000 });
    const until = MARCH.end / 1000 + 74 * 3600;
    expect(await provider.holdDraft(draft.id, until)).toBe(true);
    expect((await stripe.invoices.retrieve(draft.id)).automatically_finalizes_at).toBe(until);
    expect(await refusal(stripe.invoices.update(draft.id, { automatically_finalizes_at: clock / 1000 - 60 }))).toMatchObject({
      status: 400,
      param: 'automatically_finalizes_at',
    });
    await stripe.invoices.finalizeInvoice(draft.id);
    expect(await provider.holdDraft(draft.id, until)).toBe(false);
  });

  it('$500 purchased grant, 400 AI jobs and a $1,000 minimum: Stripe collects Meterline’s $500.00 to the cent, once', async () => {
    // Usage: 400 jobs on March 10, reported to Stripe's meter as the daily report does.
    clock = t('2026-03-31T12:00:00Z');
    await stripe.billing.meterEvents.create({
      event_name: eventName,
      identifier: `acme:ai_jobs:2026-03-10`,
      timestamp: t('2026-03-10T12:00:00Z') / 1000,
      payload: { stripe_customer_id: customerId, value: '400' },
    });
    // Stripe closes March at its end: a draft it holds through its finalization grace period.
    clock = MARCH.end;
    const draft = await emulator.createInvoice(subscriptionId, { start: MARCH.start / 1000, end: MARCH.end / 1000 });
    expect(draft).toMatchObject({ status: 'draft', total: 80000 });

    // Meterline closes March after its own grace: $800.00 of usage, −$500.00 of credits, and since credits count, $800
    // spent of the $1,000 minimum: +$200.00. Total $500.00.
    clock = t('2026-04-03T01:05:00Z');
    const w = world([plan], [{ meter: 'ai_jobs', at: '2026-03-10T00:00:00Z', quantity: 400 }]);
    w.grant('g_500', { amount: '500', source: 'purchased' });
    const march = issued(await w.close(MARCH), 'INV-2026-000001');
    expect(march.lines.filter((l) => l.amount !== '0.00').map((l) => `${l.kind} ${l.amount}`)).toEqual([
      'usage 800.00',
      'credit -500.00',
      'commitment 200.00',
    ]);
    expect(march.total).toBe('500.00');

    // A run that died after its first item: the next one adds only the other.
    const [credit] = providerInvoiceItems(march);
    await writer.createInvoiceItem(customerId, draft.id, credit!, { start: MARCH.start / 1000, end: MARCH.end / 1000 });
    expect(await sendInvoiceItems(deps(), march)).toEqual({ target: 'draft', created: 1, removed: 0, differences: 0 });
    // Run again: nothing is sent.
    const before = itemCalls().length;
    expect(await sendInvoiceItems(deps(), march)).toEqual({ target: 'draft', created: 0, removed: 0, differences: 0 });
    expect(itemCalls().length).toBe(before);
    // The same line sent again under its key is Stripe's first answer replayed, not a second item.
    await writer.createInvoiceItem(customerId, draft.id, credit!, { start: MARCH.start / 1000, end: MARCH.end / 1000 });
    expect((await stripe.invoiceItems.list({ invoice: draft.id })).data).toHaveLength(2);

    // Stripe finalizes: its total is Meterline's, cent for cent, and reconciliation finds nothing.
    const open = await stripe.invoices.finalizeInvoice(draft.id);
    expect(open.total).toBe(inMinorUnits(march.total, march.currency));
    expect(open.total).toBe(50000);
    const provider = new StripeWebhookAdapter(async () => ({ stripe, secrets: { secretKey: emulator.apiKey } }));
    const lines = await Promise.all(
      (await provider.invoiceLines(open.id)).map(async (l) => ({
        ...l,
        eventName: l.priceId ? await provider.eventNameOfPrice(l.priceId) : null,
      })),
    );
    expect(reconcile({ currency: open.currency, lines }, meterlineInvoice(march), seedMeters)).toEqual([]);

    // Reconciliation sees a credit Stripe did not take, and a true-up it took twice.
    const missing = lines.filter((l) => l.meterlineLine !== 'credit:g_500');
    expect(
      reconcile(
        { currency: open.currency, lines: [...missing, ...lines.filter((l) => l.meterlineLine === 'commitment')] },
        meterlineInvoice(march),
        seedMeters,
      ),
    ).toEqual([
      { kind: 'INVOICE_ITEM', line: 'commitment', provider: '400', meterline: '200' },
      { kind: 'INVOICE_ITEM', line: 'credit:g_500', provider: '0', meterline: '-500' },
    ]);

    // A reissue after Stripe finalized (usage corrected to 350 jobs: $700, −$500, +$300) cannot change Stripe's invoice:
    // nothing is sent, and the difference is a billing issue for a credit note.
    const corrected = world([plan], [{ meter: 'ai_jobs', at: '2026-03-10T00:00:00Z', quantity: 350 }]);
    corrected.grant('g_500', { amount: '500', source: 'purchased' });
    const reissue = issued(await corrected.close(MARCH), 'INV-2026-000002');
    const sent = itemCalls().length;
    expect(await sendInvoiceItems(deps(), reissue)).toEqual({ target: 'finalized', created: 0, removed: 0, differences: 1 });
    expect(itemCalls().length).toBe(sent);
    expect(issues).toEqual([
      expect.objectContaining({
        id: 'credit-note-needed:INV-2026-000002',
        tenantId: 'acme',
        kind: 'CREDIT_NOTE_NEEDED',
        details: expect.objectContaining({
          stripeInvoiceId: open.id,
          differences: [{ line: 'commitment', stripe: '200', meterline: '300' }],
        }),
      }),
    ]);
  });

  it('a reissue while Stripe still holds its draft corrects it: the replaced invoice’s items off, the new ones on', async () => {
    // April: 100 jobs ($200) with the grant spent, so the minimum trues up $800; then corrected to 150 jobs ($300, +$700).
    const APRIL = { start: MARCH.end, end: t('2026-05-01T00:00:00Z'), trial: false };
    clock = t('2026-04-30T12:00:00Z');
    await stripe.billing.meterEvents.create({
      event_name: eventName,
      identifier: 'acme:ai_jobs:2026-04-10',
      timestamp: t('2026-04-10T12:00:00Z') / 1000,
      payload: { stripe_customer_id: customerId, value: '100' },
    });
    clock = APRIL.end;
    const draft = await emulator.createInvoice(subscriptionId, { start: APRIL.start / 1000, end: APRIL.end / 1000 });
    const first = world([plan], [{ meter: 'ai_jobs', at: '2026-04-10T00:00:00Z', quantity: 100 }]);
    const april = issued(await first.close(APRIL), 'INV-2026-000003');
    expect(april.lines.filter((l) => l.amount !== '0.00').map((l) => `${l.kind} ${l.amount}`)).toEqual([
      'usage 200.00',
      'commitment 800.00',
    ]);
    expect(await sendInvoiceItems(deps(), april)).toMatchObject({ target: 'draft', created: 1, removed: 0 });

    // 50 late jobs reach Stripe's meter inside its grace period, and Meterline reissues April.
    await stripe.billing.meterEvents.create({
      event_name: eventName,
      identifier: 'acme:ai_jobs:2026-04-10:delta:1',
      timestamp: t('2026-04-10T12:00:01Z') / 1000,
      payload: { stripe_customer_id: customerId, value: '50' },
    });
    const second = world([plan], [{ meter: 'ai_jobs', at: '2026-04-10T00:00:00Z', quantity: 150 }]);
    const reissue = issued(await second.close(APRIL), 'INV-2026-000004');
    expect(await sendInvoiceItems(deps(), reissue)).toMatchObject({ target: 'draft', created: 1, removed: 1 });
    const items = (await stripe.invoiceItems.list({ invoice: draft.id })).data;
    expect(items.map((i) => [i.metadata?.meterline_invoice, i.metadata?.meterline_line, i.amount])).toEqual([
      ['INV-2026-000004', 'commitment', 70000],
    ]);

    // Stripe finalizes with the late usage: $300.00 + $700.00 = $1,000.00, Meterline's total.
    const finalized = await stripe.invoices.finalizeInvoice(draft.id);
    expect(reissue.total).toBe('1000.00');
    expect(finalized.total).toBe(100000);
  });
});
