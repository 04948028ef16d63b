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
