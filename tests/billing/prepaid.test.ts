import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { liveBalance } from '../../shared/billing/credits.js';
import { entitlement } from '../../shared/billing/entitlements.js';
import { draftInvoice } from '../../shared/billing/invoice-drafts.js';
import { creditStanding } from '../../shared/billing/prepaid.js';
import { quotaStatus, uncapped, withStanding } from '../../shared/billing/quotas.js';
import { changeSubscription } from '../../shared/billing/subscriptions.js';
import { Dec } from '../../shared/kernel/decimal.js';
import { jobsPlan, MARCH, t, type Use, world } from './credit-world.js';

/**
 * Prepaid-only terms, hand-computed: where a tenant stands at an instant of the open period is what the
 * billing API answers (the period's draft up to that instant, its burns on the ledger).
 */
async function standingAt(w: ReturnType<typeof world>, at: string, overdraft: string) {
  const now = t(at);
  const draft = await draftInvoice(w.reads, w.sub, MARCH, [], now, {
    grants: w.grants,
    entries: w.ledger,
    ref: '2026-03-01T00:00:00.000Z',
  });
  const { balance } = liveBalance(w.grants, w.ledger, draft.creditEntries ?? [], now, 'USD');
  return creditStanding({ overdraft }, balance, draft.lines, 'USD');
}

describe('prepaid standing, hand-computed', () => {
  // Jobs at $2.00. $100 purchased and a $20 promotion expiring March 15 (soonest expiry burns first).
  const usage: Use[] = [
    { meter: 'ai_jobs', at: '2026-03-10T00:00:00Z', quantity: 5 }, // $10 from the promotion; its other $10 expires on the 15th
    { meter: 'ai_jobs', at: '2026-03-20T00:00:00Z', quantity: 50 }, // $100: the whole purchase
    { meter: 'ai_jobs', at: '2026-03-22T00:00:00Z', quantity: 4 }, // $8 owed, within the $10 overdraft
    { meter: 'ai_jobs', at: '2026-03-24T00:00:00Z', quantity: 1 }, // $2 more: $10 owed, the overdraft used up
  ];
  const w = world([jobsPlan], usage);
  w.grant('g_purchased', { amount: '100', source: 'purchased' });
  w.grant('g_promo', { amount: '20', source: 'promotional', expiresAt: '2026-03-15T00:00:00Z' });

  it('counts the balance down through an expiry, then what no credit paid against the overdraft', async () => {
    expect(await standingAt(w, '2026-03-11T00:00:00Z', '10')).toEqual({
      currency: 'USD',
      balance: '110.00', // $10 left of the promotion, $100 of the purchase
      overdraft: '10.00',
      owed: '0.00',
      available: '120.00',
      exhausted: false,
    });
    // The promotion's other $10 expired on the 15th.
    expect(await standingAt(w, '2026-03-16T00:00:00Z', '10')).toMatchObject({ balance: '100.00', available: '110.00' });
    expect(await standingAt(w, '2026-03-21T00:00:00Z', '10')).toMatchObject({
      balance: '0.00',
      owed: '0.00',
      available: '10.00',
      exhausted: false,
    });
    expect(await standingAt(w, '2026-03-23T00:00:00Z', '10')).toMatchObject({ owed: '8.00', available: '2.00', exhausted: false });
    expect(await standingAt(w, '2026-03-25T00:00:00Z', '10')).toMatchObject({ owed: '10.00', available: '0.00', exhausted: true });
    // Without an overdraft the tenant was stopped as the purchase ran out.
    expect(await standingAt(w, '2026-03-21T00:00:00Z', '0')).toMatchObject({ available: '0.00', exhausted: true });
  });

  it('leaves a commitment true-up out of what is owed: it is not spending', () => {
    const lines = [
      { kind: 'usage' as const, description: 'AI jobs', quantity: '5', amount: '10.00' },
      { kind: 'credit' as const, description: 'Prepaid credits applied', quantity: '1', amount: '-10.00' },
      { kind: 'commitment' as const, description: 'true-up', quantity: '1', amount: '1990.00' },
    ];
    expect(creditStanding({ overdraft: '0' }, '5.00', lines, 'USD')).toMatchObject({ owed: '0.00', available: '5.00', exhausted: false });
  });

  it('answers the quota and entitlement checks allowed: false with reason BALANCE_EXHAUSTED; boolean features are untouched', () => {
    const broke = creditStanding({ overdraft: '0' }, '0', [], 'USD');
    const quota = { meter: 'ai_jobs', limit: '100', updatedAt: '2026-03-01T00:00:00Z' };
    expect(withStanding(quotaStatus(quota, '10'), broke)).toMatchObject({ allowed: false, reason: 'BALANCE_EXHAUSTED', prepaid: broke });
    expect(withStanding(quotaStatus(quota, '100'), broke)).toMatchObject({ reason: 'BALANCE_EXHAUSTED' });
    expect(quotaStatus(quota, '100')).toMatchObject({ allowed: false, reason: 'QUOTA_EXCEEDED' });
    expect(withStanding(uncapped('ai_jobs', '7'), { ...broke, exhausted: false })).toMatchObject({ limit: 'unlimited', allowed: true });
    const period = { start: MARCH.start, end: MARCH.end };
    const metered = { kind: 'metered' as const, meter: 'ai_jobs', limit: 'unlimited' as const };
    expect(entitlement('jobs', metered, { usage: '3', period, standing: broke })).toMatchObject({
      hasAccess: false,
      reason: 'BALANCE_EXHAUSTED',
      prepaid: broke,
    });
    expect(entitlement('jobs', { ...metered, limit: '3' }, { usage: '3', period })).toMatchObject({
      hasAccess: false,
      reason: 'LIMIT_REACHED',
    });
    expect(entitlement('sso', { kind: 'boolean', value: true })).toEqual({ feature: 'sso', kind: 'boolean', hasAccess: true, value: true });
  });

  it('records setting, changing and removing the terms in the subscription history; the same terms again change nothing', () => {
    const { sub } = world([jobsPlan], []);
    const o = { now: t('2026-03-05T00:00:00Z'), notBefore: MARCH.start };
    const on = changeSubscription(sub, { prepaid: { overdraft: '25' } }, o);
    expect(on.prepaid).toEqual({ overdraft: '25' });
    expect(changeSubscription(on, { prepaid: { overdraft: '25.00' } }, o).history).toHaveLength(on.history.length);
    const off = changeSubscription(on, { prepaid: null }, o);
    expect(off.prepaid).toBeUndefined();
    expect(off.history.slice(1).map((h) => h.action)).toEqual(['prepaid_terms_changed', 'prepaid_terms_changed']);
  });
});

describe('prepaid standing properties', () => {
  it('available is balance + overdraft − owed exactly and exhausted iff nothing is available; with no expiry, balance − owed = granted − charged', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 6 }), // jobs on days 2, 4, ...
        fc.array(fc.record({ cents: fc.integer({ min: 1, max: 10_000 }), expiresDay: fc.option(fc.integer({ min: 2, max: 30 })) }), {
          maxLength: 3,
        }),
        fc.integer({ min: 0, max: 5_000 }), // overdraft in cents
        fc.integer({ min: 2, max: 31 }), // the day asked about
        async (jobs, grants, overdraftCents, day) => {
          const usage = jobs.map((quantity, i) => ({
            meter: 'ai_jobs',
            at: `2026-03-${String(2 * i + 2).padStart(2, '0')}T00:00:00Z`,
            quantity,
          }));
          const w = world([jobsPlan], usage);
          for (const [i, g] of grants.entries())
            w.grant(`g_${i}`, {
              amount: new Dec(g.cents).div(100).toFixed(2),
              source: 'purchased',
              ...(g.expiresDay ? { expiresAt: `2026-03-${String(g.expiresDay).padStart(2, '0')}T00:00:00Z` } : {}),
            });
          const at = `2026-03-${String(day).padStart(2, '0')}T12:00:00Z`;
          const overdraft = new Dec(overdraftCents).div(100).toFixed(2);
          const s = await standingAt(w, at, overdraft);
          expect(new Dec(s.available).equals(new Dec(s.balance).plus(s.overdraft).minus(s.owed))).toBe(true);
          expect(s.exhausted).toBe(new Dec(s.available).lessThanOrEqualTo(0));
          expect(new Dec(s.balance).greaterThanOrEqualTo(0) && new Dec(s.owed).greaterThanOrEqualTo(0)).toBe(true);
          // Charges so far = credits burned + owed: the balance never pays more than was charged.
          const charged = usage.filter((u) => t(u.at) < t(at)).reduce((sum, u) => sum + 2 * u.quantity, 0);
          const granted = new Dec(grants.reduce((sum, g) => sum + g.cents, 0)).div(100);
          expect(new Dec(s.owed).lessThanOrEqualTo(charged)).toBe(true);
          expect(new Dec(s.balance).lessThanOrEqualTo(granted)).toBe(true);
          // With no grant expiring, nothing is lost: balance − owed = granted − charged.
          if (grants.every((g) => g.expiresDay === null))
            expect(new Dec(s.balance).minus(s.owed).equals(granted.minus(charged))).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });
});
