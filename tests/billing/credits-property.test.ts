import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyCredits,
  type CreditGrant,
  type CreditOutcome,
  grantBalance,
  type LedgerEntry,
  newGrant,
  remaining,
  reverseRun,
  voidGrant,
} from '../../shared/billing/credits.js';
import type { Plan } from '../../shared/billing/plans.js';
import { usageLines } from '../../shared/billing/pricing.js';
import { Dec } from '../../shared/kernel/decimal.js';

const DAY = 86_400_000;
const periods = [
  { start: Date.UTC(2026, 2, 1), end: Date.UTC(2026, 3, 1) },
  { start: Date.UTC(2026, 3, 1), end: Date.UTC(2026, 4, 1) },
  { start: Date.UTC(2026, 4, 1), end: Date.UTC(2026, 5, 1) },
];
/** Prices that round (37 cents a job, graduated calls): the burns must still be whole cents. */
const plan: Plan = {
  id: 'p',
  name: 'P',
  currency: 'USD',
  interval: 'month',
  baseFee: '0',
  prices: {
    ai_jobs: { model: 'perUnit', unitPrice: '0.37' },
    api_calls: {
      model: 'graduated',
      tiers: [
        { upTo: '1000', unitPrice: '0', flatFee: '0' },
        { upTo: null, unitPrice: '0.0015', flatFee: '0' },
      ],
    },
  },
};
const price = (q: Readonly<Record<string, string>>) => usageLines(plan, q, {});

const grantArb = fc.record({
  cents: fc.integer({ min: 1, max: 60_000 }),
  meter: fc.constantFrom(undefined, 'ai_jobs', 'api_calls'),
  priority: fc.integer({ min: 0, max: 3 }),
  effectiveDay: fc.integer({ min: -10, max: 85 }),
  lastsDays: fc.option(fc.integer({ min: 1, max: 80 }), { nil: undefined }),
  monthly: fc.boolean(),
  voidDay: fc.option(fc.integer({ min: 0, max: 92 }), { nil: undefined }),
});
const useArb = fc.record({
  meter: fc.constantFrom('ai_jobs', 'api_calls'),
  day: fc.integer({ min: 0, max: 91 }),
  quantity: fc.integer({ min: 0, max: 4000 }),
});

const sum = (values: Iterable<string | Dec>) => [...values].reduce<Dec>((s, v) => s.plus(v), new Dec(0));

describe('credit ledger properties', () => {
  it('the ledger sums to the balance, no grant goes below zero, and invoice credit lines equal the burns', () => {
    fc.assert(
      fc.property(
        fc.array(grantArb, { minLength: 1, maxLength: 6 }),
        fc.array(useArb, { maxLength: 30 }),
        fc.boolean(),
        (specs, usage, reissue) => {
          const grants: CreditGrant[] = [];
          const ledger: LedgerEntry[] = [];
          const voids = new Map<number, CreditGrant[]>();
          specs.forEach((s, i) => {
            const effective = periods[0]!.start + s.effectiveDay * DAY;
            const { grant, entry } = newGrant(
              'acme',
              {
                amount: s.meter ? String(s.cents) : new Dec(s.cents).div(100).toFixed(),
                ...(s.meter ? { meter: s.meter } : {}),
                priority: s.priority,
                effectiveAt: new Date(effective).toISOString(),
                ...(s.lastsDays ? { expiresAt: new Date(effective + s.lastsDays * DAY).toISOString() } : {}),
                ...(s.monthly ? { recurrence: 'monthly' as const } : {}),
                source: 'purchased',
              },
              { id: `g${i}`, now: effective, currency: 'USD' },
            );
            grants.push(grant);
            ledger.push(entry);
            if (s.voidDay !== undefined) {
              const at = periods[0]!.start + s.voidDay * DAY;
              voids.set(at, [...(voids.get(at) ?? []), grant]);
            }
          });
          const quantitiesAt = (period: { start: number; end: number }) => (instant: number) =>
            Object.fromEntries(
              ['ai_jobs', 'api_calls'].map((m) => [
                m,
                String(
                  usage
                    .filter((u) => u.meter === m)
                    .filter((u) => {
                      const at = periods[0]!.start + u.day * DAY + 1;
                      return at >= period.start && at < Math.min(instant, period.end);
                    })
                    .reduce((s, u) => s + u.quantity, 0),
                ),
              ]),
            );

          const check = (run: CreditOutcome, period: { start: number; end: number }, ref: string) => {
            // No grant below zero, ever.
            for (const g of grants) expect(remaining(g.id, ledger).isNegative()).toBe(false);
            // The ledger sums to the balances the API shows, and each balance is its movements.
            expect(sum(ledger.map((e) => e.amount)).toFixed()).toBe(
              sum(grants.map((g) => grantBalance(g, ledger, period.end).remaining)).toFixed(),
            );
            // The invoice's credit lines are the run's burns: money to the cent, units to the unit.
            const burns = run.entries.filter((e) => e.kind === 'burn');
            for (const g of grants) {
              const burned = sum(burns.filter((e) => e.grantId === g.id).map((e) => e.amount)).negated();
              const line = run.lines.find((l) => l.grantId === g.id);
              if (burned.isZero()) expect(line).toBeUndefined();
              else if (g.meter) expect(new Dec(line!.quantity).negated().toFixed()).toBe(burned.toFixed());
              else expect(new Dec(line!.amount).negated().toFixed(2)).toBe(burned.toFixed(2));
              expect(burned.decimalPlaces()).toBeLessThanOrEqual(g.meter ? 0 : 2);
            }
            // Credits never take the invoice below zero: what is left to pay is usage at net quantities minus money burns.
            const full = price(quantitiesAt(period)(period.end));
            const subtotal = sum([...full, ...run.lines].map((l) => l.amount));
            expect(subtotal.isNegative()).toBe(false);
            // Burns only while a grant is in force.
            for (const e of burns) {
              const g = grants.find((x) => x.id === e.grantId)!;
              expect(Date.parse(e.at)).toBeGreaterThan(Date.parse(g.effectiveAt));
              if (g.expiresAt) expect(Date.parse(e.at)).toBeLessThanOrEqual(Date.parse(g.expiresAt));
            }
            expect(run.entries.every((e) => e.ref === ref)).toBe(true);
          };

          for (const period of periods) {
            for (const [at, gs] of voids) {
              if (at >= period.start) continue;
              for (const g of gs) ledger.push(voidGrant(g, ledger, at));
              voids.delete(at);
            }
            const ref = new Date(period.start).toISOString();
            const input = {
              grants,
              entries: ledger,
              period,
              ref,
              currency: 'USD' as const,
              fixed: '0',
              quantitiesAt: quantitiesAt(period),
              price,
            };
            const run = applyCredits(input);
            // Deterministic: the same run again writes the same entries (so writing them twice is writing them once).
            expect(applyCredits(input).entries).toEqual(run.entries);
            ledger.push(...run.entries);
            check(run, period, ref);
            if (reissue) {
              const again = `${ref}#1`;
              const reversed = reverseRun(ledger, ref, again, period.end + DAY);
              expect(
                sum(reversed.map((e) => e.amount))
                  .plus(sum(run.entries.map((e) => e.amount)))
                  .isZero(),
              ).toBe(true);
              ledger.push(...reversed);
              const rerun = applyCredits({ ...input, entries: ledger, ref: again });
              // Re-derived from the same usage: the same lines.
              expect(rerun.lines).toEqual(run.lines);
              ledger.push(...rerun.entries);
              check(rerun, period, again);
            }
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
