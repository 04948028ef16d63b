/** Meterline's quantities are decimal strings with at most 12 decimals; compared here as exact integers of 10^-12. */
const SCALE = 12;

export function units(value: string | number): bigint {
  const text = typeof value === 'number' ? value.toFixed(SCALE) : value.trim();
  const m = /^(-?)(\d*)(?:\.(\d*))?$/.exec(text);
  if (!m) throw new Error(`not a decimal: ${text}`);
  const whole = BigInt(m[2] || '0') * 10n ** BigInt(SCALE);
  const fraction = BigInt(((m[3] ?? '') + '0'.repeat(SCALE)).slice(0, SCALE));
  return (m[1] ? -1n : 1n) * (whole + fraction);
}

export function fromUnits(u: bigint): string {
  const negative = u < 0n;
  const abs = negative ? -u : u;
  const whole = abs / 10n ** BigInt(SCALE);
  const fraction = (abs % 10n ** BigInt(SCALE)).toString().padStart(SCALE, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}
