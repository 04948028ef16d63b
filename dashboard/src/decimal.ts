/**
 * Exact arithmetic on the API's decimal strings with BigInt: the dashboard compares and adds
 * quantities and amounts but never turns them into binary floats.
 */
function scaled(a: string, b: string): [bigint, bigint, number] {
  const places = Math.max(fraction(a).length, fraction(b).length);
  return [toUnits(a, places), toUnits(b, places), places];
}

function fraction(d: string): string {
  return d.split('.')[1] ?? '';
}

function toUnits(d: string, places: number): bigint {
  const negative = d.startsWith('-');
  const [whole, frac = ''] = d.replace('-', '').split('.');
  const units = BigInt((whole || '0') + frac.padEnd(places, '0'));
  return negative ? -units : units;
}

function fromUnits(units: bigint, places: number): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(places + 1, '0');
  const whole = digits.slice(0, digits.length - places);
  const frac = places ? digits.slice(-places).replace(/0+$/, '') : '';
  return `${negative ? '-' : ''}${whole}${frac ? `.${frac}` : ''}`;
}

export function add(a: string, b: string): string {
  const [x, y, places] = scaled(a, b);
  return fromUnits(x + y, places);
}

export function compare(a: string, b: string): number {
  const [x, y] = scaled(a, b);
  return x === y ? 0 : x < y ? -1 : 1;
}

/** Whole percent of `part` in `whole`, rounded down (for a bar's width and its colour thresholds). */
export function percentOf(part: string, whole: string): number {
  const [x, y] = scaled(part, whole);
  if (y <= 0n) return 0;
  return Number((x * 100n) / y);
}
