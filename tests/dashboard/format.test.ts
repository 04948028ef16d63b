import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { add, compare, percentOf } from '../../dashboard/src/decimal.js';
import { bucketLabel, dateTime, day, lastDay, money, plural, quantity, trend, withUnit, zoneMidnight } from '../../dashboard/src/format.js';
import { Dec } from '../../shared/kernel/decimal.js';
import { startOfDate } from '../../shared/kernel/zones.js';

/** The API's decimal strings: up to 15 whole digits and 12 fractional ones, either sign. */
const decimalString = fc
  .tuple(
    fc.boolean(),
    fc.bigInt({ min: 0n, max: 10n ** 15n }),
    fc.integer({ min: 0, max: 12 }),
    fc.bigInt({ min: 0n, max: 10n ** 12n - 1n }),
  )
  .map(([negative, whole, places, frac]) => {
    const digits = places ? `.${frac.toString().padStart(12, '0').slice(0, places)}` : '';
    return `${negative ? '-' : ''}${whole}${digits}`;
  });

describe("the dashboard's decimal arithmetic", () => {
  it('adds and compares exactly as decimal.js does, without trailing zeros', () => {
    fc.assert(
      fc.property(decimalString, decimalString, (a, b) => {
        const sum = add(a, b);
        expect(new Dec(sum).eq(new Dec(a).plus(b)), `${a} + ${b} = ${sum}`).toBe(true);
        expect(sum).toMatch(/^-?\d+(\.\d*[1-9])?$/);
        expect(compare(a, b)).toBe(new Dec(a).cmp(b));
      }),
      { numRuns: 500 },
    );
  });

  it('adds digits a float would lose', () => {
    expect(add('0.1', '0.2')).toBe('0.3');
    expect(add('9007199254740993', '0.000000000001')).toBe('9007199254740993.000000000001');
    expect(add('-1.50', '1.5')).toBe('0');
    expect(add('-2', '0.25')).toBe('-1.75');
  });

  it('takes whole percents rounded toward zero, and 0 of nothing', () => {
    expect(percentOf('999.99', '1000')).toBe(99);
    expect(percentOf('1000', '1000')).toBe(100);
    expect(percentOf('2500', '1000')).toBe(250);
    expect(percentOf('5', '0')).toBe(0);
    expect(percentOf('5', '-10')).toBe(0);
    fc.assert(
      fc.property(decimalString, decimalString, (part, whole) => {
        fc.pre(new Dec(whole).gt(0));
        expect(percentOf(part, whole)).toBe(new Dec(part).times(100).div(whole).toDecimalPlaces(0, Dec.ROUND_DOWN).toNumber() + 0);
      }),
    );
  });
});

describe("the dashboard's formats", () => {
  it('shows money and quantities with every digit the API sent, and a dash for none', () => {
    expect(money('478.50', 'USD')).toBe('$478.50');
    expect(money('0.0025', 'USD')).toBe('$0.0025');
    expect(money('1234567.891', 'EUR')).toBe('€1,234,567.891');
    expect(money(null, 'USD')).toBe('—');
    expect(quantity('12345678901234.000000000001')).toBe('12,345,678,901,234.000000000001');
    expect(quantity(undefined)).toBe('—');
    expect(withUnit('2', 'order')).toBe('2 orders');
    expect(withUnit(null, 'order')).toBe('—');
  });

  it('makes English plurals and leaves abbreviations alone', () => {
    expect(plural('order', '1')).toBe('order');
    expect(plural('order', '1.000')).toBe('order');
    expect(plural('order', '-1')).toBe('order');
    expect(plural('order', '0')).toBe('orders');
    expect(plural('order', '1.5')).toBe('orders');
    expect(plural('box', '2')).toBe('boxes');
    expect(plural('batch', '2')).toBe('batches');
    expect(plural('query', '2')).toBe('queries');
    expect(plural('day', '2')).toBe('days');
    expect(plural('GB', '2')).toBe('GB');
    expect(plural('GB-hour', '2')).toBe('GB-hours');
    expect(plural('%', '2')).toBe('%');
    expect(withUnit('0', 's')).toBe('0 s');
    expect(withUnit('12', 'ms')).toBe('12 ms');
  });

  it('writes days and times in UTC, and the last day of a period whose end is exclusive', () => {
    expect(day('2026-03-01T23:30:00Z')).toBe('Mar 1, 2026');
    expect(dateTime('2026-03-01T23:30:00Z')).toBe('Mar 1, 2026, 11:30 PM UTC');
    expect(lastDay('2026-04-01T00:00:00Z')).toBe('Mar 31, 2026');
  });

  it("labels a bucket by the tenant's local day, and finds a local midnight as the kernel's calendar does", () => {
    // Sydney's Apr 5 2026 (25 hours) starts at 13:00 UTC the day before; Kathmandu's days at 18:15 UTC.
    expect(bucketLabel(Date.parse('2026-04-04T13:00:00Z'), 'day', 'Australia/Sydney')).toBe('Apr 5, 2026');
    expect(bucketLabel(Date.parse('2026-04-09T18:15:00Z'), 'day', 'Asia/Kathmandu')).toBe('Apr 10, 2026');
    expect(bucketLabel(Date.parse('2026-04-09T18:15:00Z'), 'hour', 'Asia/Kathmandu')).toBe('Apr 10, 00:00');
    expect(bucketLabel(Date.parse('2026-11-01T00:00:00Z'), 'month', 'UTC')).toBe('Nov 2026');
    const zones = ['Australia/Sydney', 'Asia/Kolkata', 'Asia/Kathmandu', 'America/New_York', 'Europe/London', 'UTC'];
    fc.assert(
      fc.property(fc.constantFrom(...zones), fc.integer({ min: 0, max: 3 * 366 }), (timeZone, days) => {
        const at = new Date(Date.UTC(2025, 0, 1 + days));
        const date = { year: at.getUTCFullYear(), month: at.getUTCMonth() + 1, day: at.getUTCDate() };
        expect(zoneMidnight(at.toISOString().slice(0, 10), timeZone)).toBe(startOfDate(timeZone, date));
      }),
    );
  });

  it('words a trend up, down, flat or absent', () => {
    expect(trend(null)).toEqual({ text: 'no previous period', direction: 'none' });
    expect(trend('0.00')).toEqual({ text: 'same as last period', direction: 'flat' });
    expect(trend('-0')).toEqual({ text: 'same as last period', direction: 'flat' });
    expect(trend('12.5')).toEqual({ text: '+12.5% vs last period', direction: 'up' });
    expect(trend('-3')).toEqual({ text: '−3% vs last period', direction: 'down' });
  });
});
