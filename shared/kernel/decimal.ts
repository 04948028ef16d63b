import Decimal from 'decimal.js';

/**
 * The one decimal type for quantities and money. 40 significant digits keep sums of billions of
 * 12-decimal quantities exact; DynamoDB numbers hold 38, which bounded inputs never exceed.
 */
export const Dec = Decimal.clone({ precision: 40, rounding: Decimal.ROUND_HALF_UP, toExpNeg: -40, toExpPos: 40 });
export type Dec = InstanceType<typeof Dec>;

/** Bounds on one event's value: keeps every counter within DynamoDB's 38 digits. */
export const MAX_VALUE = new Dec('1e18');
export const MAX_FRACTION_DIGITS = 12;

/** A decimal number as JSON and the API spell it: optional sign, digits with an optional point, an optional exponent. */
const decimalText = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * The one reader of a decimal's text (a JSON number's source text, or a decimal string): exact, never through a
 * binary float. Undefined for text that is not a decimal, and for one whose exponent is beyond decimal.js's range,
 * which it would otherwise turn into 0 or Infinity (5e-9000000000000000000 is not zero).
 */
export function parseDecimal(text: string): Dec | undefined {
  if (!decimalText.test(text)) return undefined;
  const d = new Dec(text);
  if (!d.isFinite()) return undefined;
  if (d.isZero() && /[1-9]/.test(text.split(/[eE]/)[0]!)) return undefined;
  return d;
}
