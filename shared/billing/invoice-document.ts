import { Dec } from '../kernel/decimal.js';
import { formatMoney } from '../kernel/money.js';
import { localDayKey, UTC } from '../kernel/zones.js';
import type { Invoice } from './invoices.js';
import { dueDate, type Party, type Seller } from './parties.js';
import { groupDigits, lineQuantityText, quantityWithUnit, rateText, unitMoney } from './units.js';

/**
 * What an invoice says, once, for every rendering of it (the printable page and the PDF): parties,
 * dates, lines in words, totals formatted from the stored decimal strings.
 */
export interface InvoiceDocument {
  number: string;
  status: string;
  currency: string;
  seller: Seller;
  customer: Party;
  /** Dates as YYYY-MM-DD, in the invoice's time zone (UTC unless it has one). */
  issued: string;
  due: string;
  /** The first and the last day billed (the period's end is exclusive). */
  periodFrom: string;
  periodTo: string;
  trial: boolean;
  /** A progressive invoice: which threshold issued it, before the period ended (./progressive.ts). */
  progressive?: string;
  lines: { description: string; details: string[]; quantity: string; rate: string; amount: string; adjustment: boolean }[];
  subtotal: string;
  taxLabel: string;
  tax: string;
  total: string;
  /** An online payment page (Stripe's hosted invoice page once the invoice is linked to one). */
  paymentUrl?: string;
  paymentInstructions?: string;
}

export function invoiceDocument(invoice: Invoice, seller: Seller, customer: Party, paymentUrl?: string): InvoiceDocument {
  const day = (iso: string) => localDayKey(invoice.timeZone ?? UTC, Date.parse(iso));
  const money = (amount: string) => formatMoney(amount, invoice.currency);
  return {
    number: invoice.number,
    status: invoice.status,
    currency: invoice.currency,
    seller,
    customer,
    issued: day(invoice.issuedAt),
    due: day(dueDate(invoice.issuedAt, seller)),
    periodFrom: day(invoice.periodStart),
    periodTo: day(new Date(Date.parse(invoice.periodEnd) - 1).toISOString()),
    trial: invoice.trial,
    ...(invoice.progressive
      ? { progressive: `progressive invoice: ${money(invoice.progressive.threshold)} reached, usage to ${day(invoice.issuedAt)}` }
      : {}),
    lines: invoice.lines.map((line) => {
      const details: string[] = [];
      if (line.kind === 'base' && line.from && line.to && line.quantity !== '1') details.push(`${day(line.from)} to ${day(line.to)}`);
      if (line.included !== undefined && line.kind !== 'base') {
        details.push(`${quantityWithUnit(line.included, line.unit ?? 'unit')} included, ${groupDigits(line.billable ?? '0')} billable`);
      }
      for (const t of line.tiers ?? []) {
        const flat = new Dec(t.flatFee).isZero() ? '' : ` + ${unitMoney(t.flatFee, invoice.currency)}`;
        details.push(
          `${groupDigits(t.quantity)} at ${unitMoney(t.unitPrice, invoice.currency)}${flat} (tier up to ${t.upTo ? groupDigits(t.upTo) : 'no limit'})`,
        );
      }
      return {
        description: line.description,
        details,
        quantity: lineQuantityText(line),
        rate: line.kind === 'base' ? '' : rateText(line, invoice.currency),
        amount: money(line.amount),
        adjustment: line.kind === 'adjustment',
      };
    }),
    subtotal: money(invoice.subtotal),
    taxLabel: `Tax (${new Dec(invoice.taxRate).times(100).toFixed()}%)`,
    tax: money(invoice.tax),
    total: money(invoice.total),
    ...(paymentUrl ? { paymentUrl } : {}),
    ...(seller.paymentInstructions ? { paymentInstructions: seller.paymentInstructions } : {}),
  };
}
