import type { Invoice } from '../billing/invoices.js';
import { Dec } from '../kernel/decimal.js';
import { minorPerMajor } from '../kernel/money.js';
import type { Meter } from '../metering/meters.js';
import { itemLineKey, itemLines } from './invoice-items.js';
import { meterReporting, scaledQuantity } from './meter-reporting.js';

/**
 * What flows back from the billing provider (Stripe webhooks): subscription and invoice state mirrored
 * per tenant, meter error reports, and reconciliation of a finalized invoice against Meterline's own.
 * Pure types and functions; the webhook function and the adapters do the I/O.
 */

export interface SubscriptionState {
  id: string;
  customerId: string;
  status: string;
  cancelAtPeriodEnd: boolean;
  canceledAt: number | null;
  items: { id: string; priceId: string; meterId: string | null; currentPeriodStart: number; currentPeriodEnd: number }[];
}

export interface InvoiceLineState {
  priceId: string | null;
  /** Whole provider units (scaled, see MeterReporting.scale), as a decimal string. */
  quantity: string;
  /** Minor currency units (cents). */
  amount: number;
  /** An invoice item Meterline added: the line of its own invoice it carries (./invoice-items.ts `itemLineKey`). */
  meterlineLine?: string;
}

export interface InvoiceState {
  id: string;
  customerId: string;
  status: string;
  subscriptionId: string | null;
  currency: string;
  /** Seconds since the epoch. */
  periodStart: number;
  periodEnd: number;
  /** Minor currency units. */
  total: number;
  amountPaid: number;
  /** The page where the customer pays (set once the invoice is finalized). */
  hostedInvoiceUrl: string | null;
  lines: InvoiceLineState[];
}

/** A provider object as last seen, with the `created` of the event that carried it. */
export interface Mirrored<T> {
  state: T;
  eventId: string;
  eventCreated: number;
}

/**
 * Webhooks arrive in any order. A strictly newer event replaces the mirror and an older one is
 * ignored; events created in the same second cannot be ordered, so the caller fetches the object
 * from the provider instead of trusting either.
 */
/**
 * How far along its life a Stripe invoice is: `draft`, then `open`, then a settled status. Events of one
 * invoice are often stamped with the same second (`invoice.created` and `invoice.finalized` when Stripe
 * finalizes at once), and a tie keeps the state that is further along, whatever order they arrive in.
 */
export function invoiceProgress(status: string): number {
  return status === 'draft' ? 0 : status === 'open' ? 1 : 2;
}

export function ordering(storedCreated: number | undefined, incomingCreated: number): 'newer' | 'older' | 'tie' {
  if (storedCreated === undefined || incomingCreated > storedCreated) return 'newer';
  return incomingCreated < storedCreated ? 'older' : 'tie';
}

/** Meterline's own usage lines for a billing period, as reconciliation needs them. Amounts in major units. */
export interface MeterlineInvoice {
  /** Its number, as the tenant's mail names it. */
  number?: string;
  currency: string;
  lines: { meter: string; quantity: string; amount: string }[];
  /** Its credit and true-up lines, which reach Stripe as invoice items (./invoice-items.ts). */
  items?: { line: string; amount: string }[];
}

/**
 * Meterline's invoice as reconciliation compares it: the period's usage lines (neither the base fee nor late
 * adjustments for earlier periods), and its credit and true-up lines.
 */
export const meterlineInvoice = (invoice: Invoice): MeterlineInvoice => ({
  number: invoice.number,
  currency: invoice.currency,
  lines: invoice.lines
    .filter((l) => l.kind === 'usage' && l.meter)
    .map((l) => ({ meter: l.meter!, quantity: l.quantity, amount: l.amount })),
  items: itemLines(invoice.lines).map((l) => ({ line: itemLineKey(l), amount: l.amount })),
});

/** A provider invoice line, with the provider meter its price is tied to. */
export interface ProviderLine extends InvoiceLineState {
  eventName: string | null;
}

export interface Mismatch {
  kind: 'MISSING_OWN_INVOICE' | 'QUANTITY' | 'AMOUNT' | 'USAGE_TOTAL' | 'CURRENCY' | 'UNKNOWN_LINE' | 'INVOICE_ITEM';
  meter?: string;
  /** INVOICE_ITEM: the credit or true-up line (`credit:<grant>`, `commitment`). */
  line?: string;
  provider?: string;
  meterline?: string;
}

export function fromMinorUnits(amount: number, currency: string): Dec {
  return new Dec(amount).div(minorPerMajor(currency));
}

/** A major-unit decimal rounded to the currency's minor unit, as the provider rounds each line. */
function toMinorUnits(amount: string, currency: string): Dec {
  return new Dec(amount).times(minorPerMajor(currency)).toDecimalPlaces(0, Dec.ROUND_HALF_UP);
}

/**
 * Compares the usage a finalized provider invoice bills with Meterline's for the same period: each
 * metered line's quantity (in the provider's scaled units) and amount, and their sum; and each credit and
 * true-up line of Meterline's with the invoice items carrying it (missing, a different amount, or an item
 * of a line Meterline's invoice no longer has: `INVOICE_ITEM`). Amounts are compared in minor units, since
 * the provider rounds each line to a cent.
 *
 * Licensed lines (the base fee) are left out: Stripe bills them in advance, for the period that starts
 * as this one ends, and prorates plan changes by the second; Meterline bills the base fee in arrears.
 * So an invoice without metered lines (the one Stripe makes when a subscription starts) has nothing
 * to reconcile, and a provider total could never equal Meterline's.
 */
export function reconcile(
  provider: { currency: string; lines: ProviderLine[] },
  meterline: MeterlineInvoice | undefined,
  meters: readonly Meter[],
): Mismatch[] {
  const metered = provider.lines.filter((l) => l.eventName);
  const carried = provider.lines.filter((l) => l.meterlineLine);
  if (metered.length === 0 && carried.length === 0) return [];
  const providerUsage = metered.reduce((sum, l) => sum + l.amount, 0);
  if (!meterline) return [{ kind: 'MISSING_OWN_INVOICE', provider: fromMinorUnits(providerUsage, provider.currency).toFixed() }];
  const mismatches: Mismatch[] = [];
  if (meterline.currency.toLowerCase() !== provider.currency.toLowerCase()) {
    mismatches.push({ kind: 'CURRENCY', provider: provider.currency, meterline: meterline.currency });
  }
  const byEventName = new Map(meters.map((m) => [meterReporting(m).eventName, m]));
  const seen = new Set<string>();
  for (const line of metered) {
    const meter = byEventName.get(line.eventName!);
    if (!meter) {
      mismatches.push({ kind: 'UNKNOWN_LINE', provider: `${line.eventName}: ${line.quantity}` });
      continue;
    }
    seen.add(meter.key);
    // A meter may take several lines (tiers): one quantity, amounts that add up.
    const own = meterline.lines.filter((l) => l.meter === meter.key);
    const ownQuantity = scaledQuantity(own[0]?.quantity ?? '0', meterReporting(meter).scale);
    const ownAmount = own.reduce((sum, l) => sum.plus(l.amount), new Dec(0)).toFixed();
    if (!new Dec(ownQuantity).eq(line.quantity))
      mismatches.push({ kind: 'QUANTITY', meter: meter.key, provider: line.quantity, meterline: ownQuantity });
    if (!toMinorUnits(ownAmount, provider.currency).eq(line.amount)) {
      mismatches.push({
        kind: 'AMOUNT',
        meter: meter.key,
        provider: fromMinorUnits(line.amount, provider.currency).toFixed(),
        meterline: ownAmount,
      });
    }
  }
  for (const own of meterline.lines) {
    if (!seen.has(own.meter) && !new Dec(own.quantity).isZero())
      mismatches.push({ kind: 'QUANTITY', meter: own.meter, provider: '0', meterline: own.quantity });
  }
  const ownUsage = meterline.lines.reduce((sum, l) => sum.plus(toMinorUnits(l.amount, provider.currency)), new Dec(0));
  if (!ownUsage.eq(providerUsage)) {
    mismatches.push({
      kind: 'USAGE_TOTAL',
      provider: fromMinorUnits(providerUsage, provider.currency).toFixed(),
      meterline: fromMinorUnits(ownUsage.toNumber(), provider.currency).toFixed(),
    });
  }
  const own = new Map((meterline.items ?? []).map((i) => [i.line, toMinorUnits(i.amount, provider.currency).toNumber()]));
  const theirs = new Map<string, number>();
  for (const l of carried) theirs.set(l.meterlineLine!, (theirs.get(l.meterlineLine!) ?? 0) + l.amount);
  for (const line of [...new Set([...own.keys(), ...theirs.keys()])].sort()) {
    const [p, m] = [theirs.get(line) ?? 0, own.get(line) ?? 0];
    if (p !== m)
      mismatches.push({
        kind: 'INVOICE_ITEM',
        line,
        provider: fromMinorUnits(p, provider.currency).toFixed(),
        meterline: fromMinorUnits(m, provider.currency).toFixed(),
      });
  }
  return mismatches;
}

/**
 * A problem a human must look at: a reconciliation mismatch, a provider meter error report, a failed payment, a
 * webhook that can never be acted on, or credit and true-up lines that missed Stripe's draft (./invoice-sync.ts).
 */
export const billingIssueKinds = [
  'RECONCILIATION_MISMATCH',
  'METER_ERROR_REPORT',
  'PAYMENT_FAILED',
  'UNPROCESSABLE_WEBHOOK',
  'CREDIT_NOTE_NEEDED',
] as const;

export interface BillingIssue {
  id: string;
  tenantId?: string;
  kind: (typeof billingIssueKinds)[number];
  subject: string;
  details: unknown;
  raisedAt: string;
}

/** A verified provider webhook, reduced to what Meterline acts on. */
export type ProviderNotification =
  | { kind: 'subscription'; eventId: string; type: string; created: number; subscription: SubscriptionState }
  /** `moreLines`: the event's copy of the invoice holds only the first page of its lines. */
  | { kind: 'invoice'; eventId: string; type: string; created: number; invoice: InvoiceState; moreLines: boolean }
  /** A thin event: it carries only ids, the report itself is fetched. */
  | { kind: 'meter_error_report'; eventId: string; type: string; created: number }
  | { kind: 'ignored'; eventId: string; type: string; created: number };

export interface MeterErrorReport {
  meterId: string | null;
  summary: string;
  errors: { code: string; count: number; samples: { message: string; identifier: string }[] }[];
}

/** The event types the webhook acts on; anything else is acknowledged and ignored. */
export const subscriptionEvents = ['customer.subscription.created', 'customer.subscription.updated', 'customer.subscription.deleted'];
export const invoiceEvents = [
  'invoice.created',
  'invoice.finalized',
  'invoice.paid',
  'invoice.payment_failed',
  'invoice.voided',
  'invoice.marked_uncollectible',
];
export const meterErrorReportEvent = 'v1.billing.meter.error_report_triggered';

/** A webhook whose signature does not hold (missing, wrong secret, altered body, too old): answered 400. */
export class SignatureRejected extends Error {
  override readonly name = 'SignatureRejected';
}

/**
 * A signed webhook no delivery can ever make work: its object is not what its type promises, or Stripe
 * refuses (4xx) a fetch it needs. Recorded as a billing issue and answered 2xx, so Stripe stops delivering
 * it; `event` is set when the failure is found before the event is read.
 */
export class UnprocessableNotification extends Error {
  override readonly name = 'UnprocessableNotification';
  constructor(
    message: string,
    readonly event?: { eventId: string; type: string },
  ) {
    super(message);
  }
}
