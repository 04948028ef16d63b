import * as z from 'zod';
import { Dec } from '../kernel/decimal.js';
import { type Currency, decimalString, roundMoney, sumMoney } from '../kernel/money.js';
import type { InvoiceLine } from './pricing.js';

/**
 * Prepaid-only terms: a tenant that pays for usage with its credits alone, and is stopped once they run out.
 * `overdraft` is how far past zero it may still go (charges its credits did not cover), in the plan's
 * currency; "0" stops it at the balance itself.
 *
 * The stop is made where the action is (the quota and entitlement checks a product asks before it acts),
 * never at ingest: an event records something that already happened, and refusing it would only under-bill.
 */
export const prepaidTermsSchema = z.strictObject({ overdraft: decimalString });
export type PrepaidTerms = z.infer<typeof prepaidTermsSchema>;

/** Why a check answers `allowed: false` (or `hasAccess: false`) for a prepaid tenant with nothing left. */
export const BALANCE_EXHAUSTED = 'BALANCE_EXHAUSTED';

export const creditStandingSchema = z.object({
  currency: z.string(),
  /** What is left of the tenant's money grants now, after what the open period's usage so far burns. */
  balance: z.string(),
  overdraft: z.string(),
  /** The open period's charges so far that no credit paid (before tax). */
  owed: z.string(),
  /** balance + overdraft − owed: what the tenant may still spend. */
  available: z.string(),
  /** True once nothing is available: the checks answer `allowed: false` with reason BALANCE_EXHAUSTED. */
  exhausted: z.boolean(),
});
export type CreditStanding = z.infer<typeof creditStandingSchema>;

/**
 * Where a prepaid tenant stands: `balance` from the ledger with the open period's burns, `lines` the open
 * period's draft invoice lines (credit lines included). The commitment true-up is not spending: it is left out.
 */
export function creditStanding(terms: PrepaidTerms, balance: string, lines: readonly InvoiceLine[], currency: Currency): CreditStanding {
  const owed = Dec.max(
    new Dec(
      sumMoney(
        lines.filter((l) => l.kind !== 'commitment').map((l) => l.amount),
        currency,
      ),
    ),
    0,
  );
  const overdraft = roundMoney(terms.overdraft, currency);
  const available = new Dec(balance).plus(overdraft).minus(owed);
  return {
    currency,
    balance: roundMoney(balance, currency),
    overdraft,
    owed: roundMoney(owed, currency),
    available: roundMoney(available, currency),
    exhausted: available.lessThanOrEqualTo(0),
  };
}
