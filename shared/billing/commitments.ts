import * as z from 'zod';
import { Dec } from '../kernel/decimal.js';
import { type Currency, decimalString, formatMoney, roundMoney } from '../kernel/money.js';
import type { InvoiceLine } from './pricing.js';

/**
 * A minimum spend per period: an invoice whose spend falls short of it gets a true-up line to the minimum.
 * `creditsCount` says whether usage paid with prepaid credits counts as spend (the true-up is then taken
 * on the spend before credits) or not (on what is left to pay after them). Credits never pay the true-up
 * itself, so the two settings differ exactly by the credits applied.
 */
export const commitmentSchema = z.strictObject({ minimum: decimalString, creditsCount: z.boolean() });
export type Commitment = z.infer<typeof commitmentSchema>;

/** What the invoice states about its commitment, true-up or not. */
export interface CommitmentOutcome extends Commitment {
  /** The spend measured against the minimum. */
  spend: string;
  trueUp: string;
}

const sum = (lines: readonly InvoiceLine[]) => lines.reduce((s, l) => s.plus(l.amount), new Dec(0));

/** The true-up line (when spend falls short) for an invoice's lines so far: priced lines and credit lines. */
export function commitmentTrueUp(
  commitment: Commitment,
  lines: readonly InvoiceLine[],
  currency: Currency,
): { outcome: CommitmentOutcome; line?: InvoiceLine } {
  const spend = roundMoney(commitment.creditsCount ? sum(lines.filter((l) => l.kind !== 'credit')) : sum(lines), currency);
  const trueUp = roundMoney(Dec.max(new Dec(commitment.minimum).minus(spend), 0), currency);
  const outcome = { ...commitment, minimum: roundMoney(commitment.minimum, currency), spend, trueUp };
  if (new Dec(trueUp).isZero()) return { outcome };
  const counting = commitment.creditsCount ? 'credits count toward it' : 'credits do not count toward it';
  return {
    outcome,
    line: {
      kind: 'commitment',
      description: `Minimum commitment true-up: ${formatMoney(spend, currency)} spent of ${formatMoney(outcome.minimum, currency)} (${counting})`,
      quantity: '1',
      amount: trueUp,
    },
  };
}
