import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromUnits, units } from '../../clients/node/src/decimal.js';

/**
 * The client's quota arithmetic (the middleware's used + quantity against the limit) in exact integers of 10^-12, the
 * precision of Meterline's quantities: a decimal string goes in and comes back unchanged, and sums are exact.
 */
const decimal = fc
  .tuple(fc.boolean(), fc.bigInt({ min: 0n, max: 10n ** 18n }), fc.bigInt({ min: 0n, max: 10n ** 12n - 1n }))
  .map(([negative, whole, fraction]) => {
    const digits = fraction.toString().padStart(12, '0').replace(/0+$/, '');
    const text = `${whole}${digits ? `.${digits}` : ''}`;
    return negative && text !== '0' ? `-${text}` : text;
  });

describe('the client’s exact decimals', () => {
  it('read a decimal string and write it back unchanged, with at most 12 decimals', () => {
    fc.assert(fc.property(decimal, (text) => fromUnits(units(text)) === text));
  });

  it('add exactly where binary floating point would not', () => {
    expect(fromUnits(units('0.1') + units('0.2'))).toBe('0.3');
    expect(fromUnits(units(0.1) + units(0.2))).toBe('0.3');
    expect(fromUnits(units('-1.5') + units('.25'))).toBe('-1.25');
    expect(units(' 7 ')).toBe(7n * 10n ** 12n);
    // Beyond 12 decimals the rest is cut, as Meterline keeps 12.
    expect(fromUnits(units('1.0000000000019'))).toBe('1.000000000001');
  });

  it('refuse what is not a decimal', () => {
    for (const text of ['1e3', 'abc', '1.2.3', '--1', '0x10']) expect(() => units(text)).toThrow(`not a decimal: ${text}`);
  });
});
