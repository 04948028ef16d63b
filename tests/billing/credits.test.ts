import { describe, expect, it } from 'vitest';
import { grantBalance, remaining, reverseRun, voidGrant } from '../../shared/billing/credits.js';
import { invoiceChanges } from '../../shared/billing/invoices.js';
import { seedPlans } from '../../shared/billing/plans.js';
import { periodAt } from '../../shared/billing/subscriptions.js';
import { APRIL, jobsPlan, MARCH, summary, t, type Use, world } from './credit-world.js';

/**
 * Hand-computed scenarios of prepaid credits and minimum commitments, through the same draftInvoice the
 * invoice job closes periods with (./credit-world.ts).
 */
describe('prepaid credits on invoices, hand-computed', () => {
  it('$500 purchased and $50 promotional expiring mid-April: soonest expiry burns first, the usage before the expiry pays from it, the rest expires', async () => {
    const w = world(
      [jobsPlan],
      [
        { meter: 'ai_jobs', at: '2026-03-10T00:00:00Z', quantity: 10 }, // March: $20
        { meter: 'ai_jobs', at: '2026-04-05T00:00:00Z', quantity: 5 }, // before the promo expires: $10
        { meter: 'ai_jobs', at: '2026-04-20T00:00:00Z', quantity: 300 }, // after: $600
      ],
      '0.2',
    );
    const purchased = w.grant('g_purchased', { amount: '500', source: 'purchased', effectiveAt: '2026-03-01T00:00:00Z' });
    const promo = w.grant('g_promo', {
      amount: '50',
      source: 'promotional',
      effectiveAt: '2026-03-01T00:00:00Z',
      expiresAt: '2026-04-16T00:00:00Z',
    });

    // March: $20 of usage, all from the promotional grant (same priority, it expires first).
    const march = await w.close(MARCH);
    expect(summary(march.lines)).toEqual(['usage 20.00', 'credit -20.00 1']);
    expect(march).toMatchObject({ subtotal: '0.00', tax: '0.00', total: '0.00' });

    // April: $10 before April 16 from the promotion's $30; its $20 left expires; $600 after it takes all of the $500.
    const april = await w.close(APRIL);
    expect(summary(april.lines)).toEqual(['usage 610.00', 'credit -10.00 1', 'credit -500.00 1']);
    expect(april.lines.filter((l) => l.kind === 'credit').map((l) => l.description)).toEqual([
      'Prepaid credits applied (grant g_promo, promotional)',
      'Prepaid credits applied (grant g_purchased, purchased)',
    ]);
    // Credits before tax: 20% of the $100 left.
    expect(april).toMatchObject({ subtotal: '100.00', tax: '20.00', total: '120.00' });

    expect(w.entriesOf(promo.id)).toEqual(['grant 50 2026-03-01', 'burn -20 2026-04-01', 'burn -10 2026-04-16', 'expiry -20 2026-04-16']);
    expect(w.entriesOf(purchased.id)).toEqual(['grant 500 2026-03-01', 'burn -500 2026-05-01']);
    expect(remaining(promo.id, w.ledger).toFixed()).toBe('0');
    expect(grantBalance(promo, w.ledger, APRIL.end)).toMatchObject({ remaining: '0', status: 'expired' });
  });

  it('a unit grant of 10,000 API calls is taken off the usage before it is priced', async () => {
    const professional = seedPlans.find((p) => p.id === 'professional')!;
    // 25,000 calls: 10,000 included, 10,000 prepaid, 5,000 at $0.08 = $400 (without the grant: 15,000 × $0.08 = $1,200).
    const w = world([professional], [{ meter: 'api_calls', at: '2026-03-15T00:00:00Z', quantity: 25_000 }]);
    const calls = w.grant('g_calls', { amount: '10000', meter: 'api_calls', source: 'purchased' });
    const march = await w.close(MARCH);
    expect(summary(march.lines)).toEqual(['base 999.00', 'usage 1200.00', 'usage 0.00', 'usage 0.00', 'credit -800.00 -10000']);
    expect(march.lines.at(-1)!.description).toBe('Prepaid api_calls applied: 10000 units (grant g_calls, purchased)');
    expect(march.subtotal).toBe('1399.00');
    expect(w.entriesOf(calls.id)).toEqual(['grant 10000 2026-03-01', 'burn -10000 2026-04-01']);
  });

  it('a monthly allowance resets: each cycle the rest expires and the full amount comes again', async () => {
    const w = world(
      [jobsPlan],
      [
        { meter: 'ai_jobs', at: '2026-03-10T00:00:00Z', quantity: 5 }, // $10 of March's $25
        { meter: 'ai_jobs', at: '2026-04-10T00:00:00Z', quantity: 20 }, // $40: $25 from April's allowance, $15 to pay
      ],
    );
    const allowance = w.grant('g_monthly', {
      amount: '25',
      source: 'promotional',
      recurrence: 'monthly',
      effectiveAt: '2026-03-01T00:00:00Z',
    });
    expect((await w.close(MARCH)).subtotal).toBe('0.00');
    const april = await w.close(APRIL);
    expect(summary(april.lines)).toEqual(['usage 40.00', 'credit -25.00 1']);
    expect(april.subtotal).toBe('15.00');
    expect(w.entriesOf(allowance.id)).toEqual([
      'grant 25 2026-03-01',
      'burn -10 2026-04-01',
      'expiry -15 2026-04-01',
      'grant 25 2026-04-01',
      'burn -25 2026-05-01',
    ]);
  });

  it('a minimum commitment of $2,000 trues up $1,500 of usage, with and without $300 of credits counting', async () => {
    const usage = [{ meter: 'ai_jobs', at: '2026-03-10T00:00:00Z', quantity: 750 }]; // $1,500
    for (const [creditsCount, trueUp, subtotal] of [
      [true, '500.00', '1700.00'], // $1,500 spent counts in full: +$500; $300 of it paid by credits
      [false, '800.00', '2000.00'], // only the $1,200 left after credits counts: +$800
    ] as const) {
      const w = world([{ ...jobsPlan, commitment: { minimum: '2000', creditsCount } }], usage);
      w.grant('g_300', { amount: '300', source: 'purchased' });
      const march = await w.close(MARCH);
      expect(summary(march.lines)).toEqual(['usage 1500.00', 'credit -300.00 1', `commitment ${trueUp}`]);
      expect(march.subtotal).toBe(subtotal);
      expect(march.lines.at(-1)!.description).toContain(creditsCount ? '(credits count toward it)' : '(credits do not count toward it)');
      expect(march.commitment).toEqual({ minimum: '2000.00', creditsCount, spend: creditsCount ? '1500.00' : '1200.00', trueUp });
    }
    // Spend above the minimum: no line, and the invoice still says how it measured up.
    const w = world([{ ...jobsPlan, commitment: { minimum: '1000', creditsCount: true } }], usage);
    const march = await w.close(MARCH);
    expect(summary(march.lines)).toEqual(['usage 1500.00']);
    expect(march.commitment).toMatchObject({ spend: '1500.00', trueUp: '0.00' });
  });

  it("a subscription's own commitment replaces its plan's: $1,000 without credits counting, over $900 of usage and $300 of credits", async () => {
    const usage = [{ meter: 'ai_jobs', at: '2026-03-10T00:00:00Z', quantity: 450 }]; // $900
    const w = world([{ ...jobsPlan, commitment: { minimum: '2000', creditsCount: true } }], usage);
    w.sub.commitment = { minimum: '1000', creditsCount: false };
    w.grant('g_300', { amount: '300', source: 'purchased' });
    const march = await w.close(MARCH);
    // $900 − $300 of credits = $600 spent of the $1,000: +$400; the plan's $2,000 does not apply.
    expect(summary(march.lines)).toEqual(['usage 900.00', 'credit -300.00 1', 'commitment 400.00']);
    expect(march.subtotal).toBe('1000.00');
    expect(march.commitment).toEqual({ minimum: '1000.00', creditsCount: false, spend: '600.00', trueUp: '400.00' });
  });

  it('a reissue re-derives its credit lines: the first run reversed, the grants burned again on the corrected usage', async () => {
    const usage: Use[] = [{ meter: 'ai_jobs', at: '2026-03-10T00:00:00Z', quantity: 100 }]; // $200
    const w = world([jobsPlan], usage);
    const g = w.grant('g_150', { amount: '150', source: 'purchased' });
    const first = await w.close(MARCH);
    expect(summary(first.lines)).toEqual(['usage 200.00', 'credit -150.00 1']);

    // A correction halves the usage: $100. The reissue reverses the first run and applies the credits again.
    usage[0]!.quantity = 50;
    const ref = `${new Date(MARCH.start).toISOString()}#1`;
    w.ledger.push(...reverseRun(w.ledger, new Date(MARCH.start).toISOString(), ref, t('2026-04-03T00:00:00Z')));
    const reissued = await w.close(MARCH, ref);
    expect(summary(reissued.lines)).toEqual(['usage 100.00', 'credit -100.00 1']);
    expect(reissued.total).toBe('0.00');
    expect(invoiceChanges(first, reissued).lines.map((l) => `${l.description}: ${l.difference}`)).toEqual([
      'AI jobs: -100.00',
      'Prepaid credits applied (grant g_150, purchased): 50.00',
    ]);
    expect(w.entriesOf(g.id)).toEqual([
      'grant 150 2026-03-01',
      'burn -150 2026-04-01',
      'adjustment 150 2026-04-03',
      'burn -100 2026-04-01',
    ]);
    expect(remaining(g.id, w.ledger).toFixed()).toBe('50');
  });

  it('a voided grant leaves the ledger at zero and burns no more', async () => {
    const w = world([jobsPlan], [{ meter: 'ai_jobs', at: '2026-03-10T00:00:00Z', quantity: 10 }]);
    const g = w.grant('g_void', { amount: '80', source: 'manual' });
    w.ledger.push(voidGrant(g, w.ledger, t('2026-03-05T00:00:00Z')));
    expect(() => voidGrant(g, w.ledger, t('2026-03-06T00:00:00Z'))).toThrow('already void');
    expect((await w.close(MARCH)).total).toBe('20.00');
    expect(grantBalance(g, w.ledger, APRIL.start)).toMatchObject({ remaining: '0', status: 'void' });
    expect(periodAt(w.sub, MARCH.start)).toMatchObject({ start: MARCH.start });
  });
});
