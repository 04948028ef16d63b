import { Dec } from '../kernel/decimal.js';
import { type Currency, formatMoney, minorUnits } from '../kernel/money.js';
import type { Meter } from '../metering/meters.js';
import type { InvoiceLine } from './pricing.js';

/**
 * Quantities and prices as people read them on an invoice: "300 jobs", "1 order", "12,500 calls",
 * "$0.01 per 1,000 calls, partial packages prorated", and storage billed as "GB-months", which is
 * what a LATEST meter's quantity is (the readings held over the period, see period-usage.ts), or as
 * "GB-hours", "seat-days", "GPU-minutes": a TIME_WEIGHTED meter's integral per its `per`.
 */

/** The unit a meter's billed quantity is in: a gauge is billed per unit held for a unit of time. */
export function billedUnit(meter: Pick<Meter, 'unit' | 'aggregation' | 'per'>): string {
  if (meter.aggregation === 'LATEST') return `${meter.unit}-month`;
  if (meter.aggregation === 'TIME_WEIGHTED') return `${meter.unit}-${meter.per}`;
  return meter.unit;
}

/** English plural of a unit; abbreviations (GB, kWh) do not change. */
export function pluralUnit(unit: string): string {
  const m = /^(.*?)([A-Za-z]+)$/.exec(unit);
  if (!m) return unit;
  const word = m[2]!;
  if (/[A-Z]/.test(word) && word.length <= 4) return unit;
  if (/(s|x|z|ch|sh)$/.test(word)) return `${unit}es`;
  if (/[^aeiou]y$/.test(word)) return `${unit.slice(0, -1)}ies`;
  return `${unit}s`;
}

/** "1,234,567.5": digits grouped by thousands, the decimals kept exactly as given. */
export function groupDigits(decimal: string): string {
  const [whole, fraction] = decimal.split('.') as [string, string | undefined];
  const sign = whole.startsWith('-') ? '-' : '';
  const grouped = whole.replace('-', '').replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${sign}${grouped}${fraction ? `.${fraction}` : ''}`;
}

/** "1 order", "300 jobs", "0 calls", "45.5 GB-months". */
export function quantityWithUnit(quantity: string, unit: string): string {
  const one = new Dec(quantity).abs().equals(1);
  return `${groupDigits(quantity)} ${one ? unit : pluralUnit(unit)}`;
}

/** The price of a usage line in words, with the currency. */
export function rateText(line: InvoiceLine, currency: Currency): string {
  const p = line.price;
  const unit = line.unit ?? 'unit';
  const money = (amount: string) => unitMoney(amount, currency);
  if (!p) return '';
  switch (p.model) {
    case 'free':
      return 'free';
    case 'perUnit':
      return `${money(p.unitPrice)} per ${unit}`;
    case 'package':
      return `${money(p.packagePrice)} per ${quantityWithUnit(p.packageSize, unit)}${p.rounding === 'up' ? ', each started package in full' : ', partial packages prorated'}`;
    case 'quota':
      return p.included === 'unlimited'
        ? 'included, unlimited'
        : `${quantityWithUnit(p.included, unit)} included, then ${money(p.unitPrice)} per ${unit}`;
    case 'graduated':
      return 'graduated tiers (each tier at its own price)';
    case 'volume':
      return 'volume tiers (all units at the reached tier’s price)';
  }
}

/**
 * Unit prices keep their sub-cent digits ("$0.0025", "$1.999", "¥0.5"); whole-cent prices read as money ("$0.10").
 * A price with more digits than the currency's minor unit is its whole part as money and every digit of its fraction:
 * rounding it to money first would carry into the whole part ($1.999 is not $2.999).
 */
export function unitMoney(amount: string, currency: Currency): string {
  const exact = new Dec(amount);
  const [, fraction = ''] = exact.toFixed().split('.');
  if (fraction.length <= minorUnits[currency]) return formatMoney(amount, currency);
  const whole = formatMoney(exact.abs().trunc().toFixed(), currency).replace(/\.\d+$/, '');
  return `${exact.isNegative() ? '-' : ''}${whole}.${fraction}`;
}

/** The quantity column of a line: usage in its unit, a base fee as the share of the period it covers. */
export function lineQuantityText(line: InvoiceLine): string {
  if (line.kind === 'base') return line.quantity === '1' ? '1 period' : `${line.quantity} of the period`;
  return quantityWithUnit(line.quantity, line.unit ?? 'unit');
}
