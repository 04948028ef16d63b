import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { draftInvoice } from '../../shared/billing/invoice-drafts.js';
import { type Invoice, type InvoiceDraft, invoiceNumber } from '../../shared/billing/invoices.js';
import type { Plan, Price } from '../../shared/billing/plans.js';
import type { ProgressiveStore } from '../../shared/billing/ports.js';
import { checkThresholds, deductEarlier } from '../../shared/billing/progressive.js';
import { reissueInvoice } from '../../shared/billing/reissue.js';
import { subscriptionRequestSchema } from '../../shared/billing/subscriptions.js';
import type { Thresholds } from '../../shared/billing/thresholds.js';
import { Dec } from '../../shared/kernel/decimal.js';
import { firstIssue } from '../../shared/kernel/errors.js';
import { MARCH, t, type Use, world } from './credit-world.js';

/**
 * A store of invoices in memory that keeps the billing store's promises (ports.ts): a progressive invoice
 * is written only if its period still has exactly the progressive invoices its caller read and no final
 * invoice, under its threshold's index; numbers come from one gap-free sequence shared with final invoices.
 */
function invoiceBook() {
  const invoices: Invoice[] = [];
  let last = 0;
  const number = () => invoiceNumber(2026, ++last);
  const open = (draft: InvoiceDraft, issuedAt: string): Invoice => {
    const n = number();
    return { ...draft, id: n, number: n, status: 'open', issuedAt, statusHistory: [{ status: 'open', at: issuedAt }] };
  };
  const ofPeriod = (periodStart: string) => invoices.filter((i) => i.periodStart === periodStart);
  const store: ProgressiveStore = {
    progressiveInvoices: async (_tenant, periodStart) =>
      ofPeriod(periodStart)
        .filter((i) => i.progressive)
        .sort((a, b) => a.progressive!.index - b.progressive!.index),
    issueProgressive: async (draft, earlier, issuedAt) => {
      const period = ofPeriod(draft.periodStart);
      const progressive = period.filter((i) => i.progressive);
      if (progressive.length !== earlier || period.some((i) => !i.progressive)) return undefined;
      if (progressive.some((i) => i.progressive!.index === draft.progressive!.index)) return undefined;
      const invoice = open(draft, issuedAt);
      invoices.push(invoice);
      return invoice;
    },
    credits: async () => ({ grants: [], entries: [] }),
  };
  return { invoices, store, open, numbers: () => invoices.map((i) => i.number) };
}

const volume: Price = {
  model: 'volume',
  tiers: [
    { upTo: '1000', unitPrice: '1.00', flatFee: '0' },
    { upTo: null, unitPrice: '0.80', flatFee: '0' },
  ],
};
/** $100 a month, AI jobs at $1.00 each up to 1,000 in the month, every job at $0.80 beyond; invoice at $500, then every $500. */
const computePlan: Plan = {
  id: 'compute',
  name: 'Compute',
  currency: 'USD',
  interval: 'month',
  baseFee: '100.00',
  prices: { ai_jobs: volume },
  thresholds: { amount: '500.00', every: '500.00' },
};
const jobs = (at: string, quantity: number): Use => ({ meter: 'ai_jobs', at, quantity });
const periodStart = new Date(MARCH.start).toISOString();

function scenario(usage: Use[], plan: Plan = computePlan) {
  const w = world([plan], usage, '0.1');
  const book = invoiceBook();
  const check = (at: string) => checkThresholds(book.store, w.reads, w.sub, t(at));
  /** The invoice job's final invoice: the period priced whole, less its progressive invoices. */
  const close = async () => {
    const draft = await draftInvoice(w.reads, w.sub, MARCH, [], MARCH.end);
    const final = book.open(deductEarlier(draft, await book.store.progressiveInvoices('acme', periodStart)), '2026-04-04T00:00:00.000Z');
    book.invoices.push(final);
    return final;
  };
  return { ...w, book, check, close };
}
const lines = (i: InvoiceDraft) => i.lines.map((l) => `${l.kind} ${l.amount}${l.kind === 'progressive' ? ` ${l.description}` : ''}`);
const money = (i: InvoiceDraft) => [i.subtotal, i.tax, i.total];

describe('progressive billing, by hand (10% tax)', () => {
  it('crosses $500 and $1,000, a volume tier re-prices the period, and the final invoice settles the rest', async () => {
    const usage = [jobs('2026-03-05T00:00:00Z', 450)];
    const s = scenario(usage);

    // March 6: $100 + 450 × $1.00 = $550 ≥ $500 (threshold 0): the whole period so far, tax $55.00.
    const first = (await s.check('2026-03-06T00:00:00Z')).issued!;
    expect(first).toMatchObject({ number: 'INV-2026-000001', progressive: { index: 0, threshold: '500', amountDue: '550.00' } });
    expect(lines(first)).toEqual(['base 100.00', 'usage 450.00']);
    expect(money(first)).toEqual(['550.00', '55.00', '605.00']);
    // A retried evaluation, or the next one with no new usage, issues nothing.
    expect((await s.check('2026-03-06T00:00:00Z')).issued).toBeUndefined();
    expect((await s.check('2026-03-07T00:00:00Z')).issued).toBeUndefined();

    // March 13: 950 jobs, $1,050 ≥ $1,000 (threshold 1): $1,050 less the $550 already invoiced = $500;
    // tax $105.00 on the period less the $55.00 charged = $50.00.
    usage.push(jobs('2026-03-12T00:00:00Z', 500));
    const second = (await s.check('2026-03-13T00:00:00Z')).issued!;
    expect(second).toMatchObject({ number: 'INV-2026-000002', progressive: { index: 1, threshold: '1000', amountDue: '1050.00' } });
    expect(lines(second)).toEqual([
      'base 100.00',
      'usage 950.00',
      'progressive -550.00 Already invoiced: INV-2026-000001 (threshold $500.00 reached 2026-03-06)',
    ]);
    expect(money(second)).toEqual(['500.00', '50.00', '550.00']);

    // March 21: 1,050 jobs reach the volume tier: every job at $0.80 = $840, the period at $940: it fell, no threshold.
    usage.push(jobs('2026-03-20T00:00:00Z', 100));
    expect((await s.check('2026-03-21T00:00:00Z')).issued).toBeUndefined();
    // March 31: 1,550 jobs × $0.80 = $1,240, the period $1,340: still below $1,500 (threshold 2).
    usage.push(jobs('2026-03-30T00:00:00Z', 500));
    expect((await s.check('2026-03-31T12:00:00Z')).issued).toBeUndefined();

    // The final invoice: $1,340 less $550 and $500 = $290; tax $134.00 on the period less $105.00 = $29.00.
    const final = await s.close();
    expect(final.number).toBe('INV-2026-000003');
    expect(lines(final)).toEqual([
      'base 100.00',
      'usage 1240.00',
      'progressive -550.00 Already invoiced: INV-2026-000001 (threshold $500.00 reached 2026-03-06)',
      'progressive -500.00 Already invoiced: INV-2026-000002 (threshold $1,000.00 reached 2026-03-13)',
    ]);
    expect(money(final)).toEqual(['290.00', '29.00', '319.00']);
    // $605.00 + $550.00 + $319.00 = $1,474.00 = one invoice for the whole period: $1,340.00 + 10%.
    expect(new Dec(first.total).plus(second.total).plus(final.total).toFixed(2)).toBe('1474.00');
    // Once the period has its final invoice, no threshold issues for it any more.
    usage.push(jobs('2026-03-31T13:00:00Z', 5000));
    expect((await s.check('2026-03-31T14:00:00Z')).issued).toBeUndefined();
  });

  it('credits the customer when the volume tier leaves the period below what was invoiced', async () => {
    const s = scenario([jobs('2026-03-05T00:00:00Z', 450), jobs('2026-03-12T00:00:00Z', 500), jobs('2026-03-20T00:00:00Z', 100)]);
    await s.check('2026-03-06T00:00:00Z');
    await s.check('2026-03-13T00:00:00Z');
    // 1,050 jobs × $0.80 + $100 = $940 less $1,050 invoiced = −$110.00; tax $94.00 less $105.00 = −$11.00.
    const final = await s.close();
    expect(money(final)).toEqual(['-110.00', '-11.00', '-121.00']);
    expect(new Dec('605.00').plus('550.00').plus(final.total).toFixed(2)).toBe('1034.00'); // $940.00 + 10%
  });

  it('settles a correction made after a progressive invoice on the final invoice', async () => {
    const usage = [jobs('2026-03-05T00:00:00Z', 450), jobs('2026-03-05T01:00:00Z', 100)];
    const s = scenario(usage);
    const first = (await s.check('2026-03-06T00:00:00Z')).issued!;
    expect(money(first)).toEqual(['650.00', '65.00', '715.00']);
    usage.pop(); // the 100 jobs are voided by a correction
    const final = await s.close();
    // $550.00 for the period less $650.00 = −$100.00; tax $55.00 less $65.00.
    expect(money(final)).toEqual(['-100.00', '-10.00', '-110.00']);
  });

  it('re-derives the deductions when the final invoice is reissued, leaving out a voided progressive invoice', async () => {
    const usage = [jobs('2026-03-05T00:00:00Z', 450), jobs('2026-03-12T00:00:00Z', 500)];
    const s = scenario(usage);
    await s.check('2026-03-06T00:00:00Z');
    await s.check('2026-03-13T00:00:00Z');
    const final = await s.close();
    expect(money(final)).toEqual(['0.00', '0.00', '0.00']);
    // The first progressive invoice is voided (it will not be collected): the reissued final bills it.
    s.book.invoices[0]!.status = 'void';
    usage.push(jobs('2026-03-20T00:00:00Z', 10)); // and a late correction adds 10 jobs
    const reissued = await reissueInvoice(
      {
        ...s.book.store,
        getSubscription: async () => s.sub,
        getInvoice: async (_t, id) => s.book.invoices.find((i) => i.id === id),
        latestInvoice: async () => final,
        invoiceForPeriod: async () => undefined,
        reissueInvoice: async (_original, draft, at) => s.book.open(draft, at),
        appendCreditEntries: async () => {},
      },
      s.reads,
      'acme',
      final.id,
      t('2026-04-10T00:00:00Z'),
    );
    // $100 + 960 × $1.00 = $1,060 less the $500 of INV-2026-000002 only; tax $106.00 less $50.00.
    expect(lines(reissued).filter((l) => l.startsWith('progressive'))).toEqual([
      'progressive -500.00 Already invoiced: INV-2026-000002 (threshold $1,000.00 reached 2026-03-13)',
    ]);
    expect(money(reissued)).toEqual(['560.00', '56.00', '616.00']);
  });

  it('refuses thresholds that are not amounts of at least 1, naming the field (the 400 the admin API answers)', () => {
    const refused = (thresholds: unknown) => firstIssue(subscriptionRequestSchema.safeParse({ thresholds }).error!);
    expect(refused({ amount: '0.50' })).toEqual({
      field: 'thresholds.amount',
      message: 'must be at least 1 (a whole unit of the currency)',
    });
    expect(refused({ amount: '1000', every: '-5' })).toMatchObject({ field: 'thresholds.every' });
    expect(refused({ amount: '1000', every: '0.5' })).toMatchObject({ field: 'thresholds.every' });
    expect(refused({ amount: '1000', each: '5' })).toMatchObject({ field: 'thresholds.each' });
    expect(refused({ every: '1000' })).toMatchObject({ field: 'thresholds.amount' });
    expect(refused('1000')).toMatchObject({ field: 'thresholds' });
    expect(subscriptionRequestSchema.parse({ thresholds: null })).toEqual({ thresholds: null });
  });
});

const prices: fc.Arbitrary<Price> = fc.oneof(
  fc.constant(volume),
  fc.constant<Price>({
    model: 'graduated',
    tiers: [
      { upTo: '100', unitPrice: '1.37', flatFee: '5' },
      { upTo: null, unitPrice: '0.333', flatFee: '0' },
    ],
  }),
  fc.constant<Price>({ model: 'quota', included: '50', unitPrice: '2.015' }),
);

describe('progressive billing, property', () => {
  it('the progressive invoices plus the final invoice equal the period priced once, and no threshold issues twice', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ minute: fc.integer({ min: 0, max: 31 * 1440 - 1 }), quantity: fc.integer({ min: 0, max: 400 }) }), {
          maxLength: 25,
        }),
        fc.record({
          amount: fc.integer({ min: 1, max: 800 }),
          every: fc.option(fc.integer({ min: 1, max: 600 }), { nil: undefined }),
        }),
        prices,
        fc.constantFrom('0', '0.07', '0.2', '0.0825'),
        fc.array(fc.integer({ min: 0, max: 31 * 1440 - 1 }), { maxLength: 12 }),
        async (events, th, price, taxRate, extraChecks) => {
          const instant = (minute: number) => MARCH.start + minute * 60_000;
          const usage = events.map((e) => jobs(new Date(instant(e.minute)).toISOString(), e.quantity));
          const plan: Plan = { ...computePlan, baseFee: '19.99', prices: { ai_jobs: price }, thresholds: undefined };
          const w = world([plan], usage, taxRate);
          const thresholds: Thresholds = { amount: `${th.amount}.00`, ...(th.every ? { every: `${th.every}.50` } : {}) };
          const sub = { ...w.sub, thresholds };
          const book = invoiceBook();
          // Evaluations after every event and at random instants, each run twice at once (a retry racing the first).
          const times = [...events.map((e) => Math.min(e.minute + 1, 31 * 1440 - 1)), ...extraChecks].sort((a, b) => a - b);
          for (const minute of times) {
            await Promise.all([0, 1].map(() => checkThresholds(book.store, w.reads, sub, instant(minute))));
          }
          const progressive = [...book.invoices];
          const indexes = progressive.map((i) => i.progressive!.index);
          expect(new Set(indexes).size).toBe(indexes.length);
          expect(indexes).toEqual([...indexes].sort((a, b) => a - b));
          for (const i of progressive) expect(new Dec(i.subtotal).greaterThan(0)).toBe(true);

          const whole = await draftInvoice(w.reads, sub, MARCH, [], MARCH.end);
          const final = deductEarlier(whole, progressive);
          const all = [...progressive, final];
          const add = (k: 'subtotal' | 'tax' | 'total') => all.reduce((s, i) => s.plus(i[k]), new Dec(0)).toFixed(2);
          expect([add('subtotal'), add('tax'), add('total')]).toEqual([whole.subtotal, whole.tax, whole.total]);
          // Each invoice adds up on paper: its lines to its subtotal, subtotal and tax to its total.
          for (const i of all) {
            expect(i.lines.reduce((s, l) => s.plus(l.amount), new Dec(0)).toFixed(2)).toBe(i.subtotal);
            expect(new Dec(i.subtotal).plus(i.tax).toFixed(2)).toBe(i.total);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
