import { ClientError } from '../kernel/errors.js';
import type { Currency } from '../kernel/money.js';
import type { BilledPeriod, InvoiceLine, Totals } from './pricing.js';

/**
 * Invoices. A `draft` is priced but not numbered (the upcoming invoice is one); the invoice job
 * finalizes a period straight to `open`, taking the next number of the year in the same transaction
 * that writes the invoice and closes the period, so a number is never skipped nor used twice.
 * From `open` an invoice is `paid`, `void` or `uncollectible`; an uncollectible one can still be paid
 * or voided. `paid` and `void` are final.
 */
export const invoiceStatuses = ['draft', 'open', 'paid', 'void', 'uncollectible'] as const;
export type InvoiceStatus = (typeof invoiceStatuses)[number];

const transitions: Record<InvoiceStatus, readonly InvoiceStatus[]> = {
  draft: ['open', 'void'],
  open: ['paid', 'void', 'uncollectible'],
  uncollectible: ['paid', 'void'],
  paid: [],
  void: [],
};

export function assertTransition(from: InvoiceStatus, to: InvoiceStatus): void {
  if (!transitions[from].includes(to)) {
    throw new ClientError('CONFLICT', `an invoice cannot go from ${from} to ${to}${transitions[from].length ? `; from ${from} it can become ${transitions[from].join(', ')}` : ''}`, 'status');
  }
}

/** "INV-2026-000042": per calendar year of issue (UTC), from 1, without gaps. */
export function invoiceNumber(year: number, sequence: number): string {
  return `INV-${year}-${String(sequence).padStart(6, '0')}`;
}

export interface InvoiceDraft extends Totals {
  tenantId: string;
  currency: Currency;
  periodStart: string;
  periodEnd: string;
  trial: boolean;
  /** The plan that priced the period's usage (the one in force at its end). */
  planId: string;
  lines: InvoiceLine[];
  /**
   * What has been billed for this period and the one before it, late adjustments included: the next
   * invoice compares these quantities with the counters again and bills any difference.
   */
  billed: BilledPeriod[];
}

export interface Invoice extends InvoiceDraft {
  /** The invoice number is its id. */
  id: string;
  number: string;
  status: InvoiceStatus;
  issuedAt: string;
  statusHistory: { status: InvoiceStatus; at: string }[];
}

/** How many periods late usage is looked for after they closed: the period itself and the one before. */
export const ADJUSTABLE_PERIODS = 2;

/** What a tenant sees in a list. */
export function invoiceSummary(i: Invoice) {
  return { id: i.id, number: i.number, status: i.status, currency: i.currency, periodStart: i.periodStart, periodEnd: i.periodEnd, issuedAt: i.issuedAt, total: i.total };
}
