/**
 * How a DynamoDB number reads back: counters are decimals, so DynamoDB's exact text is kept unless a JS
 * number holds it exactly (integers up to 2^53, short decimals that survive a round trip through a double).
 */
export function unmarshallNumber(text: string): number | string {
  const n = Number(text);
  const safe = Number.isFinite(n) && String(n) === text && (Number.isInteger(n) ? Number.isSafeInteger(n) : true);
  return safe ? n : text;
}
