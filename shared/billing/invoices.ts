import * as z from 'zod';
import { type DomainEvent, domainEvent } from '../events/domain-events.js';
import { ClientError } from '../kernel/errors.js';
import { type Currency, subtractMoney } from '../kernel/money.js';
import type { CommitmentOutcome } from './commitments.js';
import type { LedgerEntry } from './credits.js';
import { type BilledPeriod, type InvoiceLine, invoiceLineSchema, type Totals } from './pricing.js';
import type { ProgressiveMark } from './progressive.js';

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

/** A provider's invoice for the same customer and period (Stripe's), as Meterline's invoice follows it. */
export interface ProviderInvoice {
  id: string;
  /** The provider's status: Stripe's `draft`, `open`, `paid`, `void` or `uncollectible`. */
  status: string;
  hostedInvoiceUrl: string | null;
}

const followed: Record<string, InvoiceStatus> = { paid: 'paid', void: 'void', uncollectible: 'uncollectible' };

/**
 * The status Meterline's invoice moves to when the provider's has `providerStatus`, or undefined when it
 * stays. Only moves the status machine allows are made, so events arriving late or twice (a
 * `marked_uncollectible` after `paid`) change nothing: `paid` and `void` are final.
 */
export function followedStatus(current: InvoiceStatus, providerStatus: string): InvoiceStatus | undefined {
  const to = followed[providerStatus];
  return to && to !== current && transitions[current].includes(to) ? to : undefined;
}

export function assertTransition(from: InvoiceStatus, to: InvoiceStatus): void {
  if (!transitions[from].includes(to)) {
    throw new ClientError(
      'CONFLICT',
      `an invoice cannot go from ${from} to ${to}${transitions[from].length ? `; from ${from} it can become ${transitions[from].join(', ')}` : ''}`,
      'status',
    );
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
  /** The time zone the period closed in: its dates, and the invoice's, are that zone's (absent: UTC). */
  timeZone?: string;
  trial: boolean;
  /** The plan that priced the period's usage (the one in force at its end). */
  planId: string;
  /** The version of that plan (./plan-versions.ts); absent on invoices issued before plans had versions: the first. */
  planVersion?: number;
  lines: InvoiceLine[];
  /**
   * What has been billed for this period and the one before it, late adjustments included: the next
   * invoice compares these quantities with the counters again and bills any difference.
   */
  billed: BilledPeriod[];
  /** The credit ledger entries this invoice's run writes (burns, resets, expiries), with the invoice. */
  creditEntries?: LedgerEntry[];
  /** The plan's minimum commitment and how the invoice measured up to it. */
  commitment?: CommitmentOutcome;
  /** A progressive invoice: the threshold whose crossing issued it, before its period ended (./progressive.ts). */
  progressive?: ProgressiveMark;
}

export interface Invoice extends InvoiceDraft {
  /** The invoice number is its id. */
  id: string;
  number: string;
  status: InvoiceStatus;
  issuedAt: string;
  statusHistory: { status: InvoiceStatus; at: string }[];
  /** A replacement: the voided invoice it replaces, and how it differs from it. */
  replaces?: { id: string; changes: InvoiceChanges };
  /** A voided invoice that was reissued: its replacement's id. */
  replacedBy?: string;
  /** When `invoice.issued` went out; unset until then, so a failed announcement is made by a later run. */
  announcedAt?: string;
  /** The Stripe invoice for the same customer and period, once Stripe has told about it. */
  stripeInvoiceId?: string;
  /** Where the customer pays it (Stripe's hosted invoice page). */
  hostedInvoiceUrl?: string;
}

/**
 * An invoice as the API answers it (a draft, the upcoming invoice, adds `asOf`). Open: the stored invoice carries
 * more (what was billed, its credit entries), which clients do not read.
 */
const shownDraftSchema = z.object({
  tenantId: z.string(),
  currency: z.string(),
  periodStart: z.string(),
  periodEnd: z.string(),
  timeZone: z.string().optional(),
  trial: z.boolean(),
  planId: z.string(),
  planVersion: z.int().optional(),
  lines: z.array(invoiceLineSchema),
  subtotal: z.string(),
  taxRate: z.string(),
  tax: z.string(),
  total: z.string(),
});

export const upcomingInvoiceSchema = shownDraftSchema.extend({ status: z.literal('draft'), asOf: z.string() });

const changeSchema = z.object({ before: z.string(), after: z.string(), difference: z.string() });

/** What a reissue changed, line by line (lines are matched by kind and meter, plan or description). */
export const invoiceChangesSchema = z.object({ lines: z.array(changeSchema.extend({ description: z.string() })), total: changeSchema });
export type InvoiceChanges = z.infer<typeof invoiceChangesSchema>;

export const invoiceSchema = shownDraftSchema.extend({
  id: z.string(),
  number: z.string(),
  status: z.enum(invoiceStatuses),
  issuedAt: z.string(),
  statusHistory: z.array(z.object({ status: z.enum(invoiceStatuses), at: z.string() })),
  replaces: z.object({ id: z.string(), changes: invoiceChangesSchema }).optional(),
  replacedBy: z.string().optional(),
  stripeInvoiceId: z.string().optional(),
  hostedInvoiceUrl: z.string().optional(),
});

/** An invoice in a list: what tells it from the others. */
export const invoiceSummarySchema = invoiceSchema.pick({
  id: true,
  number: true,
  status: true,
  currency: true,
  periodStart: true,
  periodEnd: true,
  issuedAt: true,
  timeZone: true,
  total: true,
});
export type InvoiceSummary = z.infer<typeof invoiceSummarySchema>;

/** Statuses an invoice may be reissued from: it is voided by the reissue (a paid invoice needs a refund first). */
export const reissuableStatuses: readonly InvoiceStatus[] = ['open', 'uncollectible', 'void'];

const lineKey = (l: InvoiceLine) =>
  `${l.kind}:${l.grantId ?? l.meter ?? l.planId ?? l.description}${l.planVersion ? `@${l.planVersion}` : ''}`;

/** The line-by-line difference between an invoice and its replacement; unchanged lines are left out. */
export function invoiceChanges(
  before: Pick<Invoice, 'lines' | 'total'>,
  after: Pick<InvoiceDraft, 'lines' | 'total' | 'currency'>,
): InvoiceChanges {
  const old = new Map(before.lines.map((l) => [lineKey(l), l]));
  const lines: InvoiceChanges['lines'] = [];
  const zero = subtractMoney('0', '0', after.currency);
  const difference = (a: string, b: string) => subtractMoney(b, a, after.currency);
  for (const line of after.lines) {
    const was = old.get(lineKey(line));
    old.delete(lineKey(line));
    if (was?.amount === line.amount && was.quantity === line.quantity) continue;
    lines.push({
      description: line.description,
      before: was?.amount ?? zero,
      after: line.amount,
      difference: difference(was?.amount ?? zero, line.amount),
    });
  }
  for (const was of old.values())
    lines.push({ description: was.description, before: was.amount, after: zero, difference: difference(was.amount, zero) });
  return { lines, total: { before: before.total, after: after.total, difference: difference(before.total, after.total) } };
}

/** How many periods late usage is looked for after they closed: the period itself and the one before. */
export const ADJUSTABLE_PERIODS = 2;

export function invoiceIssued(i: Invoice): DomainEvent<'invoice.issued'> {
  const data = {
    invoiceId: i.id,
    number: i.number,
    status: i.status,
    currency: i.currency,
    total: i.total,
    periodStart: i.periodStart,
    periodEnd: i.periodEnd,
    issuedAt: i.issuedAt,
  };
  return domainEvent('invoice.issued', i.tenantId, i.id, data, i.issuedAt);
}

/** The invoice moved from `from` to its current status (the last entry of its history). */
export function invoiceStatusChanged(i: Invoice, from: InvoiceStatus, source: 'admin' | 'stripe'): DomainEvent<'invoice.status_changed'> {
  const at = i.statusHistory.at(-1)!.at;
  const stripe = {
    ...(i.stripeInvoiceId ? { stripeInvoiceId: i.stripeInvoiceId } : {}),
    ...(i.hostedInvoiceUrl ? { hostedInvoiceUrl: i.hostedInvoiceUrl } : {}),
  };
  return domainEvent(
    'invoice.status_changed',
    i.tenantId,
    `${i.id}:${i.status}`,
    { invoiceId: i.id, number: i.number, from, to: i.status, at, source, ...stripe },
    at,
  );
}

/** What a tenant sees in a list. */
export function invoiceSummary(i: Invoice): InvoiceSummary {
  return {
    id: i.id,
    number: i.number,
    status: i.status,
    currency: i.currency,
    periodStart: i.periodStart,
    periodEnd: i.periodEnd,
    issuedAt: i.issuedAt,
    ...(i.timeZone ? { timeZone: i.timeZone } : {}),
    total: i.total,
  };
}
