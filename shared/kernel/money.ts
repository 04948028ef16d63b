import * as z from 'zod';
import { Dec } from './decimal.js';
import { decimalField } from './json-fields.js';

/**
 * Money is decimal end to end: amounts travel as strings ("478.50"), are computed with `Dec`, and are
 * rounded exactly once, per invoice line, to the currency's minor unit. Totals add rounded lines, so an
 * invoice always adds up on paper.
 *
 * Rounding rule: half-up on the magnitude (ROUND_HALF_UP, i.e. half away from zero): 0.125 → 0.13,
 * -0.125 → -0.13. Negative amounts only appear on adjustment lines, which are differences of lines that
 * were already rounded, so in practice they are never rounded again.
 */
export const minorUnits = { USD: 2, EUR: 2, GBP: 2, CAD: 2, AUD: 2, CHF: 2, JPY: 0 } as const;
export type Currency = keyof typeof minorUnits;
export const currencySchema = z.enum(Object.keys(minorUnits) as [Currency, ...Currency[]]);

/** Minor units per major unit of a currency code in any case ("usd", "JPY"); a currency Meterline does not price in counts in hundredths. */
export const minorPerMajor = (currency: string): number => 10 ** (minorUnits[currency.toUpperCase() as Currency] ?? 2);

/**
 * A non-negative decimal of at most 18 digits before the point and 12 after: a string ("0.10") or a JSON
 * number (0.10) read exactly from its text, never through a binary float.
 */
export const decimalString = decimalField(
  z
    .string({ error: 'must be a decimal such as "0.10" or 0.10' })
    .regex(
      /^\d{1,18}(\.\d{1,12})?$/,
      'must be a non-negative decimal with at most 18 digits before the point and 12 after, such as "0.10"',
    ),
);

/** Never a JS number: the type keeps floats out of money at compile time. */
export type Exact = string | Dec;

/** Rounds an exact amount to the currency's minor unit (half-up), as a fixed-point string. */
export function roundMoney(amount: Exact, currency: Currency): string {
  return new Dec(amount).toDecimalPlaces(minorUnits[currency], Dec.ROUND_HALF_UP).toFixed(minorUnits[currency]);
}

/** Adds already-rounded amounts; the result needs no rounding. */
export function sumMoney(amounts: readonly string[], currency: Currency): string {
  return amounts.reduce((sum, a) => sum.plus(a), new Dec(0)).toFixed(minorUnits[currency]);
}

/** `a - b` of two rounded amounts. */
export function subtractMoney(a: string, b: string, currency: Currency): string {
  return new Dec(a).minus(b).toFixed(minorUnits[currency]);
}

export function formatMoney(amount: string, currency: Currency): string {
  const [whole, fraction] = new Dec(amount).abs().toFixed(minorUnits[currency]).split('.') as [string, string | undefined];
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const sign = new Dec(amount).isNegative() ? '-' : '';
  const symbol = { USD: '$', EUR: '€', GBP: '£', CAD: 'CA$', AUD: 'A$', CHF: 'CHF ', JPY: '¥' }[currency];
  return `${sign}${symbol}${grouped}${fraction ? `.${fraction}` : ''}`;
}
