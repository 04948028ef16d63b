import { describe, expect, it } from 'vitest';
import { seedPlans } from '../../shared/billing/plans.js';
import { baseFeeLines, totals } from '../../shared/billing/pricing.js';
import {
  changeSubscription,
  closablePeriods,
  newSubscription,
  periodAt,
  planSegments,
  usagePlanId,
} from '../../shared/billing/subscriptions.js';
import type { ClientError } from '../../shared/kernel/errors.js';

const t = (s: string) => Date.parse(s);
const day = (n: number) => new Date(n).toISOString().slice(0, 10);
const sub = (startAt: string, o: { interval?: 'month' | 'year'; trialDays?: number } = {}) =>
  newSubscription({
    tenantId: 'acme',
    planId: 'starter',
    interval: o.interval ?? 'month',
    currency: 'USD',
    startAt: t(startAt),
    now: t(startAt),
    ...(o.trialDays ? { trialDays: o.trialDays } : {}),
  });

function periods(s: ReturnType<typeof sub>, count: number) {
  const out: string[] = [];
  let at = t(s.startedAt);
  for (let i = 0; i < count; i++) {
    const p = periodAt(s, at);
    out.push(`${day(p.start)}..${day(p.end)}`);
    at = p.end;
  }
  return out;
}

describe('billing periods', () => {
  it('a Jan 31 anchor keeps month-end without drifting, through a leap February', () => {
    expect(periods(sub('2024-01-31T15:20:00Z'), 4)).toEqual([
      '2024-01-31..2024-02-29',
      '2024-02-29..2024-03-31',
      '2024-03-31..2024-04-30',
      '2024-04-30..2024-05-31',
    ]);
    expect(periods(sub('2025-01-31T00:00:00Z'), 2)).toEqual(['2025-01-31..2025-02-28', '2025-02-28..2025-03-31']);
  });

  it('a Feb 29 yearly anchor falls on Feb 28 in common years', () => {
    expect(periods(sub('2024-02-29T00:00:00Z', { interval: 'year' }), 5)).toEqual([
      '2024-02-29..2025-02-28',
      '2025-02-28..2026-02-28',
      '2026-02-28..2027-02-28',
      '2027-02-28..2028-02-29',
      '2028-02-29..2029-02-28',
    ]);
  });

  it('finds the period of any instant, on and just before its edges', () => {
    const s = sub('2024-01-31T00:00:00Z');
    expect(periodAt(s, t('2024-02-29T00:00:00Z')).start).toBe(t('2024-02-29T00:00:00Z'));
    expect(periodAt(s, t('2024-02-28T23:59:59.999Z')).start).toBe(t('2024-01-31T00:00:00Z'));
    expect(periodAt(s, t('2030-07-15T00:00:00Z'))).toEqual({
      start: t('2030-06-30T00:00:00Z'),
      end: t('2030-07-31T00:00:00Z'),
      trial: false,
    });
    expect(() => periodAt(s, t('2024-01-30T00:00:00Z'))).toThrow(RangeError);
  });

  it('a trial is its own period and periods anchor on its end', () => {
    const s = sub('2026-01-10T08:00:00Z', { trialDays: 14 });
    expect(periods(s, 3)).toEqual(['2026-01-10..2026-01-24', '2026-01-24..2026-02-24', '2026-02-24..2026-03-24']);
    expect(periodAt(s, t('2026-01-20T00:00:00Z')).trial).toBe(true);
  });

  it('closes a period only after its grace window, catches up missed ones, and stops at the cancellation', () => {
    const s = sub('2026-01-01T00:00:00Z');
    const grace = 72 * 3_600_000;
    expect(closablePeriods(s, undefined, t('2026-02-03T23:59:59Z'), grace)).toEqual([]);
    expect(closablePeriods(s, undefined, t('2026-02-04T00:00:00Z'), grace).map((p) => day(p.start))).toEqual(['2026-01-01']);
    expect(closablePeriods(s, undefined, t('2026-05-10T00:00:00Z'), grace).map((p) => day(p.start))).toEqual([
      '2026-01-01',
      '2026-02-01',
      '2026-03-01',
      '2026-04-01',
    ]);
    expect(closablePeriods(s, t('2026-03-01T00:00:00Z'), t('2026-05-10T00:00:00Z'), grace).map((p) => day(p.start))).toEqual([
      '2026-03-01',
      '2026-04-01',
    ]);
    const cancelled = changeSubscription(s, { cancelAtPeriodEnd: true }, { now: t('2026-02-10T00:00:00Z'), notBefore: 0 });
    expect(cancelled.cancelAt).toBe('2026-03-01T00:00:00.000Z');
    expect(closablePeriods(cancelled, undefined, t('2026-12-01T00:00:00Z'), grace).map((p) => day(p.start))).toEqual([
      '2026-01-01',
      '2026-02-01',
    ]);
  });
});

describe('plan changes', () => {
  const start = sub('2024-02-01T00:00:00Z');
  const feb = periodAt(start, t('2024-02-01T00:00:00Z'));

  it('prorate base fees by time, price usage under the plan at period end, and keep the history', () => {
    const upgraded = changeSubscription(
      start,
      { planId: 'professional', effectiveAt: '2024-02-15T12:00:00Z' },
      { now: t('2024-02-15T12:00:00Z'), notBefore: feb.start, plan: { interval: 'month', currency: 'USD' } },
    );
    const segments = planSegments(upgraded, feb);
    expect(segments.map((s) => [s.planId, day(s.start), day(s.end)])).toEqual([
      ['starter', '2024-02-01', '2024-02-15'],
      ['professional', '2024-02-15', '2024-03-01'],
    ]);
    expect(usagePlanId(upgraded, feb)).toBe('professional');
    const lines = baseFeeLines(
      segments.map((s) => ({ ...s, plan: seedPlans.find((p) => p.id === s.planId)! })),
      feb,
    );
    // 14.5 of 29 days each: 299/2 = 149.50 and 999/2 = 499.50
    expect(lines.map((l) => [l.quantity, l.amount])).toEqual([
      ['0.5', '149.50'],
      ['0.5', '499.50'],
    ]);
    expect(totals(lines, '0', 'USD').subtotal).toBe('649.00');
    expect(upgraded.history.map((h) => h.action)).toEqual(['created', 'plan_changed']);
    expect(start.plans).toHaveLength(1); // the old value is untouched
  });

  it('refuses changes into invoiced time, across intervals, and after the end', () => {
    const refuse = (fn: () => unknown, code: string) => expect(fn).toThrow(expect.objectContaining({ code }) as ClientError);
    refuse(
      () =>
        changeSubscription(
          start,
          { planId: 'professional', effectiveAt: '2024-02-10T00:00:00Z' },
          { now: t('2024-03-05T00:00:00Z'), notBefore: feb.end },
        ),
      'CONFLICT',
    );
    refuse(
      () =>
        changeSubscription(
          start,
          { planId: 'yearly' },
          { now: t('2024-02-10T00:00:00Z'), notBefore: 0, plan: { interval: 'year', currency: 'USD' } },
        ),
      'CONFLICT',
    );
    const cancelled = changeSubscription(start, { cancelAtPeriodEnd: true }, { now: t('2024-02-10T00:00:00Z'), notBefore: 0 });
    refuse(() => changeSubscription(cancelled, { planId: 'professional' }, { now: t('2024-03-02T00:00:00Z'), notBefore: 0 }), 'CONFLICT');
    const revoked = changeSubscription(cancelled, { cancelAtPeriodEnd: false }, { now: t('2024-02-11T00:00:00Z'), notBefore: 0 });
    expect(revoked.cancelAt).toBeUndefined();
    expect(revoked.history.map((h) => h.action)).toEqual(['created', 'cancel_scheduled', 'cancel_revoked']);
  });
});

describe('terms changes', () => {
  const start = sub('2024-02-01T00:00:00Z');
  const at = (iso: string) => ({ now: t(iso), notBefore: 0 });
  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      const e = error as ClientError;
      return [e.code, e.field, e.message];
    }
    return undefined;
  };

  it('refuses startAt and trialDays on a started subscription, a plan change at or after its end, and any change once ended', () => {
    expect(code(() => changeSubscription(start, { startAt: '2024-03-01T00:00:00Z' }, at('2024-02-10T00:00:00Z')))).toEqual([
      'CONFLICT',
      'startAt',
      'the subscription has started; startAt and trialDays only apply when it is created',
    ]);
    expect(code(() => changeSubscription(start, { trialDays: 14 }, at('2024-02-10T00:00:00Z')))?.[1]).toBe('trialDays');
    const cancelled = changeSubscription(start, { cancelAtPeriodEnd: true }, at('2024-02-10T00:00:00Z'));
    expect(cancelled.cancelAt).toBe('2024-03-01T00:00:00.000Z');
    expect(
      code(() =>
        changeSubscription(cancelled, { planId: 'professional', effectiveAt: '2024-03-01T00:00:00Z' }, at('2024-02-12T00:00:00Z')),
      ),
    ).toEqual(['CONFLICT', 'effectiveAt', 'the subscription ends at 2024-03-01T00:00:00.000Z']);
    expect(code(() => changeSubscription(cancelled, { taxRate: '0.2' }, at('2024-03-01T00:00:00Z')))).toEqual([
      'CONFLICT',
      undefined,
      'the subscription ended at 2024-03-01T00:00:00.000Z',
    ]);
  });

  it('records a change of terms once, compares decimals by value, and removes terms given null', () => {
    const terms = changeSubscription(
      start,
      { taxRate: '0.2', prepaid: { overdraft: '50' }, commitment: { minimum: '100', creditsCount: true }, thresholds: { amount: '500' } },
      at('2024-02-10T00:00:00Z'),
    );
    expect(terms).toMatchObject({
      taxRate: '0.2',
      prepaid: { overdraft: '50' },
      commitment: { minimum: '100' },
      thresholds: { amount: '500' },
    });
    // The same terms written otherwise ("0.20", "50.00") change nothing and add no history.
    const same = changeSubscription(
      terms,
      {
        taxRate: '0.20',
        prepaid: { overdraft: '50.00' },
        commitment: { minimum: '100.0', creditsCount: true },
        thresholds: { amount: '500' },
      },
      at('2024-02-11T00:00:00Z'),
    );
    expect(same.history).toEqual(terms.history);
    const removed = changeSubscription(terms, { prepaid: null, commitment: null, thresholds: null }, at('2024-02-12T00:00:00Z'));
    expect(removed.prepaid).toBeUndefined();
    expect(removed.commitment).toBeUndefined();
    expect(removed.thresholds).toBeUndefined();
    expect(removed.history.slice(-3)).toEqual([
      { at: '2024-02-12T00:00:00.000Z', action: 'prepaid_terms_changed' },
      { at: '2024-02-12T00:00:00.000Z', action: 'commitment_changed' },
      { at: '2024-02-12T00:00:00.000Z', action: 'thresholds_changed' },
    ]);
  });

  it('moves to a new time zone at the end of the current period, or at the start of one not started yet', () => {
    const moved = changeSubscription(start, { timeZone: 'Europe/Paris' }, at('2024-02-10T00:00:00Z'));
    expect(moved.timeZones).toEqual([
      { from: '1970-01-01T00:00:00.000Z', timeZone: 'UTC' },
      { from: '2024-03-01T00:00:00.000Z', timeZone: 'Europe/Paris' },
    ]);
    // A second change before then replaces the first; the same zone again changes nothing.
    const again = changeSubscription(moved, { timeZone: 'Asia/Tokyo' }, at('2024-02-20T00:00:00Z'));
    expect(again.timeZones!.at(-1)).toEqual({ from: '2024-03-01T00:00:00.000Z', timeZone: 'Asia/Tokyo' });
    expect(again.timeZones).toHaveLength(2);
    expect(changeSubscription(again, { timeZone: 'Asia/Tokyo' }, at('2024-02-21T00:00:00Z')).history).toEqual(again.history);
    const future = sub('2024-06-01T00:00:00Z');
    const early = changeSubscription(future, { timeZone: 'Europe/Paris' }, at('2024-05-01T00:00:00Z'));
    expect(early.timeZones!.at(-1)).toEqual({ from: '2024-06-01T00:00:00.000Z', timeZone: 'Europe/Paris' });
  });

  it('creates a subscription with its terms and zone in the subscription and its first history entry', () => {
    const created = newSubscription({
      tenantId: 'acme',
      planId: 'starter',
      interval: 'month',
      currency: 'EUR',
      startAt: t('2024-02-01T10:00:00Z'),
      taxRate: '0.2',
      prepaid: { overdraft: '10' },
      commitment: { minimum: '100', creditsCount: false },
      thresholds: { amount: '500', every: '250' },
      timeZone: 'Europe/Paris',
      now: t('2024-02-01T10:00:00Z'),
    });
    // Truncated to the local day: Feb 1 00:00 in Paris is Jan 31 23:00 UTC.
    expect(created.startedAt).toBe('2024-01-31T23:00:00.000Z');
    expect(created.timeZones).toEqual([{ from: '1970-01-01T00:00:00.000Z', timeZone: 'Europe/Paris' }]);
    expect(created.history[0]).toEqual({
      at: '2024-02-01T10:00:00.000Z',
      action: 'created',
      planId: 'starter',
      effectiveAt: '2024-01-31T23:00:00.000Z',
      taxRate: '0.2',
      prepaid: { overdraft: '10' },
      commitment: { minimum: '100', creditsCount: false },
      thresholds: { amount: '500', every: '250' },
      timeZone: 'Europe/Paris',
    });
  });
});
