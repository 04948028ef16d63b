import * as z from 'zod';
import { Dec } from '../kernel/decimal.js';
import { decimalString } from '../kernel/money.js';

/**
 * Progressive billing thresholds on a period's amount due before tax, in the plan's currency: `amount`,
 * then one more every `every` above it (./progressive.ts issues the invoices). Both at least one whole unit
 * of the currency, so a period has a bounded number of thresholds.
 */
const atLeastOne = decimalString.refine((v) => new Dec(v).greaterThanOrEqualTo(1), 'must be at least 1 (a whole unit of the currency)');

export const thresholdsSchema = z.strictObject({
  /** The first threshold. */
  amount: atLeastOne,
  /** One more threshold every `every` above `amount`; without it, `amount` is the only one. */
  every: atLeastOne.optional(),
});
export type Thresholds = z.infer<typeof thresholdsSchema>;

/** The threshold of index `index` (0 is `amount`): amount + index × every. */
export const thresholdAmount = (t: Thresholds, index: number): string => new Dec(t.every ?? 0).times(index).plus(t.amount).toFixed();

/** The index of the highest threshold `due` has reached, or undefined below the first. */
export function reachedThreshold(t: Thresholds, due: string): number | undefined {
  const d = new Dec(due);
  if (d.lessThan(t.amount)) return undefined;
  return t.every ? d.minus(t.amount).div(t.every).floor().toNumber() : 0;
}
