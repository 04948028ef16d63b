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
