import { describe, expect, it } from 'vitest';
import { draftInvoice, projectQuantity, trendPercent } from '../../shared/billing/invoice-drafts.js';
import { assertTransition, invoiceNumber } from '../../shared/billing/invoices.js';
import { seedPlans } from '../../shared/billing/plans.js';
import type { BillingReads } from '../../shared/billing/ports.js';
import { changeSubscription, newSubscription, periodAt } from '../../shared/billing/subscriptions.js';
import type { Period } from '../../shared/kernel/periods.js';
import { counterRanges, unitMonths } from '../../shared/metering/period-usage.js';
import { seedMeters } from '../../shared/metering/seed-meters.js';

const t = (s: string) => Date.parse(s);

/** Usage as (meter, instant, amount) facts; quantities are the sums inside a period. */
function reads(facts: { meter: string; at: string; n: number }[]): BillingReads {
  return {
    plan: async (id) => seedPlans.find((p) => p.id === id),
    meters: async () => seedMeters,
    quantity: async (_tenant, meter, period: Period) =>
      String(facts.filter((f) => f.meter === meter.key && t(f.at) >= period.start && t(f.at) < period.end).reduce((s, f) => s + f.n, 0)),
  };
}

describe('drafting an invoice', () => {
  it("seed 2's upgrade mid-cycle: 40 estimates on Starter, 60 more after moving to Professional: no overage, base fees prorated", async () => {
    const start = newSubscription({
      tenantId: 'roofs',
      planId: 'starter',
      interval: 'month',
      currency: 'USD',
      startAt: t('2025-04-01T00:00:00Z'),
      now: t('2025-04-01T00:00:00Z'),
    });
    const sub = changeSubscription(
      start,
      { planId: 'professional', effectiveAt: '2025-04-11T00:00:00Z' },
      { now: t('2025-04-11T00:00:00Z'), notBefore: 0, plan: { interval: 'month', currency: 'USD' } },
    );
    const usage = reads([
      { meter: 'estimates', at: '2025-04-05T00:00:00Z', n: 40 },
      { meter: 'estimates', at: '2025-04-20T00:00:00Z', n: 60 },
    ]);
    const draft = await draftInvoice(usage, sub, periodAt(sub, t('2025-04-01T00:00:00Z')), []);
    // Starter 10/30 × 299 = 99.666… → 99.67; Professional 20/30 × 999 = 666.00
    expect(draft.lines.filter((l) => l.kind === 'base').map((l) => [l.planId, l.amount])).toEqual([
      ['starter', '99.67'],
      ['professional', '666.00'],
    ]);
    expect(draft.lines.find((l) => l.meter === 'estimates')).toMatchObject({
      quantity: '100',
      included: '200',
      billable: '0',
      amount: '0.00',
    });
    expect(draft).toMatchObject({ planId: 'professional', subtotal: '765.67', total: '765.67' });
  });

  it('a trial period shows its usage and charges nothing', async () => {
    const sub = newSubscription({
      tenantId: 'roofs',
      planId: 'starter',
      interval: 'month',
      currency: 'USD',
      startAt: t('2025-04-01T00:00:00Z'),
      trialDays: 14,
      now: 0,
    });
    const draft = await draftInvoice(
      reads([{ meter: 'estimates', at: '2025-04-02T00:00:00Z', n: 70 }]),
      sub,
      periodAt(sub, t('2025-04-01T00:00:00Z')),
      [],
    );
    expect(draft.trial).toBe(true);
    expect(draft.total).toBe('0.00');
    expect(draft.lines.find((l) => l.meter === 'estimates')).toMatchObject({
      quantity: '70',
      amount: '0.00',
      description: 'Estimates (trial)',
    });
  });

  it('late usage is looked for in the two periods before, and each is adjusted once', async () => {
    const sub = newSubscription({
      tenantId: 'roofs',
      planId: 'starter',
      interval: 'month',
      currency: 'USD',
      startAt: t('2025-01-01T00:00:00Z'),
      now: 0,
    });
    const facts = [{ meter: 'estimates', at: '2025-01-10T00:00:00Z', n: 50 }];
    const usage = reads(facts);
    const jan = await draftInvoice(usage, sub, periodAt(sub, t('2025-01-01T00:00:00Z')), []);
    facts.push({ meter: 'estimates', at: '2025-01-31T23:00:00Z', n: 2 }); // late for January
    const feb = await draftInvoice(usage, sub, periodAt(sub, t('2025-02-01T00:00:00Z')), jan.billed);
    expect(feb.lines.filter((l) => l.kind === 'adjustment').map((l) => [l.meter, l.quantity, l.amount, l.from])).toEqual([
      ['estimates', '2', '10.00', '2025-01-01T00:00:00.000Z'],
    ]);
    facts.push({ meter: 'estimates', at: '2025-01-15T00:00:00Z', n: 1 }); // later still, for January again
    const mar = await draftInvoice(usage, sub, periodAt(sub, t('2025-03-01T00:00:00Z')), feb.billed);
    expect(mar.lines.filter((l) => l.kind === 'adjustment').map((l) => [l.quantity, l.amount])).toEqual([['1', '5.00']]);
    const apr = await draftInvoice(usage, sub, periodAt(sub, t('2025-04-01T00:00:00Z')), mar.billed);
    expect(apr.lines.filter((l) => l.kind === 'adjustment')).toEqual([]);
    expect(apr.billed.map((b) => b.periodStart.slice(0, 7))).toEqual(['2025-04', '2025-03']);
  });
});

describe('reading usage for a period', () => {
  it('tiles a period with whole months and the days around them', () => {
    expect(counterRanges({ start: t('2024-01-31T00:00:00Z'), end: t('2024-04-02T00:00:00Z') })).toEqual([
      { granularity: 'day', from: '2024-01-31', to: '2024-01-31' },
      { granularity: 'month', from: '2024-02', to: '2024-03' },
      { granularity: 'day', from: '2024-04-01', to: '2024-04-01' },
    ]);
    expect(counterRanges({ start: t('2024-02-29T00:00:00Z'), end: t('2024-03-31T00:00:00Z') })).toEqual([
      { granularity: 'day', from: '2024-02-29', to: '2024-03-30' },
    ]);
  });

  it('prices gauges in unit-months: hourly readings carried forward, divided by the hours of the period', () => {
    const april = { start: t('2025-04-01T00:00:00Z'), end: t('2025-05-01T00:00:00Z') }; // 720 hours
    expect(unitMonths('45', [], april, april.end)).toBe('45');
    expect(unitMonths(undefined, [{ period: '2025-04-21T00', value: '100' }], april, april.end)).toBe('33.333333');
    expect(unitMonths('10', [{ period: '2025-04-16T00', value: '30' }], april, april.end)).toBe('20');
    // As of mid-month only the hours so far count (the upcoming invoice): 15 days of 10 GB = 5 GB-months.
    expect(unitMonths('10', [], april, t('2025-04-16T00:00:00Z'))).toBe('5');
  });

  it('projects additive meters by run rate and leaves peaks alone; trends are null without a base', () => {
    const april: Period = { start: t('2025-04-01T00:00:00Z'), end: t('2025-05-01T00:00:00Z') };
    const orders = seedMeters.find((m) => m.key === 'orders');
    const seats = seedMeters.find((m) => m.key === 'seats');
    expect(projectQuantity(orders, '100', april, t('2025-04-11T00:00:00Z'))).toBe('300');
    expect(projectQuantity(seats, '7', april, t('2025-04-11T00:00:00Z'))).toBe('7');
    expect(trendPercent('0', '5')).toBeNull();
    expect(trendPercent('200', '250')).toBe('25.0');
    expect(trendPercent('3', '2')).toBe('-33.3');
  });
});

describe('invoice model', () => {
  it('numbers per year with six digits', () => expect(invoiceNumber(2026, 42)).toBe('INV-2026-000042'));
  it('allows draft → open → paid | void | uncollectible, and uncollectible → paid | void, nothing else', () => {
    for (const [from, to] of [
      ['draft', 'open'],
      ['open', 'paid'],
      ['open', 'void'],
      ['open', 'uncollectible'],
      ['uncollectible', 'paid'],
      ['uncollectible', 'void'],
    ] as const)
      expect(() => assertTransition(from, to)).not.toThrow();
    for (const [from, to] of [
      ['paid', 'void'],
      ['void', 'open'],
      ['draft', 'paid'],
      ['open', 'draft'],
      ['paid', 'uncollectible'],
    ] as const)
      expect(() => assertTransition(from, to)).toThrow(/cannot go/);
  });
});
