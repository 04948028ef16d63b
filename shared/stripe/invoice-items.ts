import type { Invoice } from '../billing/invoices.js';
import type { InvoiceLine } from '../billing/pricing.js';
import { Dec } from '../kernel/decimal.js';
import { minorPerMajor } from '../kernel/money.js';

/**
 * The lines of Meterline's invoice that Stripe's invoice for the same period cannot make by itself:
 * prepaid credits applied (negative), the minimum commitment's true-up (positive), and what the period's
 * progressive invoices already billed (negative). Stripe bills the usage from its meters; these go on its
 * draft invoice for the period as invoice items, one per line, so what Stripe collects is what Meterline's
 * invoice says. A progressive invoice itself reaches Stripe as a one-off invoice of one item
 * (`progressiveInvoiceItem`). Pure: the workflows that send them are ./invoice-sync.ts.
 */

/** The line kinds that become invoice items. */
const itemKinds: readonly InvoiceLine['kind'][] = ['credit', 'commitment', 'progressive'];

/**
 * What names a line on both sides: `credit:<grant>`, `commitment`, or `progressive:<invoice>` (the progressive
 * invoice it deducts). Kept in the item's metadata.
 */
export const itemLineKey = (l: Pick<InvoiceLine, 'kind' | 'grantId' | 'invoiceId'>) =>
  l.kind === 'credit' ? `credit:${l.grantId}` : l.kind === 'progressive' ? `progressive:${l.invoiceId}` : l.kind;

/** The lines of an invoice that reach Stripe as invoice items on its period's invoice. */
export const itemLines = (lines: readonly InvoiceLine[]) => lines.filter((l) => itemKinds.includes(l.kind) && !new Dec(l.amount).isZero());

export interface ProviderInvoiceItem {
  /** The Meterline invoice it comes from. */
  invoiceId: string;
  /** `itemLineKey` of the line. */
  line: string;
  /** Minor units, signed: negative for a credit. */
  amount: number;
  /** Lowercase, as Stripe writes it. */
  currency: string;
  description: string;
  /**
   * One per invoice line: a retried run replays Stripe's first answer instead of adding the line twice
   * (Stripe keeps keys at least 24 hours; past that, the items already on the invoice are what dedupes).
   */
  idempotencyKey: string;
}

/** An invoice item Meterline put on a Stripe invoice, as read back (its metadata names the line). */
export interface PlacedItem {
  id: string;
  invoiceId: string;
  line: string;
  amount: number;
}

/** A major-unit amount in the currency's minor units; Meterline's lines are already whole minor units. */
export const inMinorUnits = (amount: string, currency: string): number => new Dec(amount).times(minorPerMajor(currency)).toNumber();

export function providerInvoiceItems(invoice: Pick<Invoice, 'id' | 'currency' | 'lines'>): ProviderInvoiceItem[] {
  return itemLines(invoice.lines).map((l) => ({
    invoiceId: invoice.id,
    line: itemLineKey(l),
    amount: inMinorUnits(l.amount, invoice.currency),
    currency: invoice.currency.toLowerCase(),
    description: `${l.description} (Meterline invoice ${invoice.id})`,
    idempotencyKey: `meterline-item-${invoice.id}-${itemLineKey(l)}`,
  }));
}

/** The line key of the one item a progressive invoice's own Stripe invoice carries. */
export const PROGRESSIVE_LINE = 'progressive';

/**
 * The one item of the Stripe invoice a progressive invoice becomes: its subtotal, the usage so far less what the
 * period's earlier invoices billed. Its tax stays Meterline's, as on the period's invoice, whose items carry none;
 * so the final invoice's "Already invoiced" item takes off exactly what this one charged.
 */
export function progressiveInvoiceItem(
  invoice: Pick<Invoice, 'id' | 'number' | 'currency' | 'subtotal' | 'issuedAt'>,
): ProviderInvoiceItem {
  return {
    invoiceId: invoice.id,
    line: PROGRESSIVE_LINE,
    amount: inMinorUnits(invoice.subtotal, invoice.currency),
    currency: invoice.currency.toLowerCase(),
    description: `Usage to ${invoice.issuedAt.slice(0, 10)} (Meterline progressive invoice ${invoice.number})`,
    idempotencyKey: `meterline-item-${invoice.id}-${PROGRESSIVE_LINE}`,
  };
}

export interface InvoiceItemPlan {
  create: ProviderInvoiceItem[];
  /** Items of an invoice Meterline no longer stands by (a reissued one): taken off the draft. */
  remove: PlacedItem[];
}

/**
 * What a draft Stripe invoice needs so its Meterline items are exactly `wanted`: each wanted line keeps one
 * item of the same invoice, line and amount, or gets one; every other item is removed (another invoice's,
 * which a reissue replaced, or a second copy of a line). Already right → nothing, so a second run sends nothing.
 */
export function planInvoiceItems(wanted: readonly ProviderInvoiceItem[], placed: readonly PlacedItem[]): InvoiceItemPlan {
  const kept = new Set<string>();
  const create = wanted.filter((w) => {
    const match = placed.find((p) => !kept.has(p.id) && p.invoiceId === w.invoiceId && p.line === w.line && p.amount === w.amount);
    if (match) kept.add(match.id);
    return !match;
  });
  return { create, remove: placed.filter((p) => !kept.has(p.id)) };
}

/** Where a finalized Stripe invoice's Meterline items differ from the lines Meterline's invoice now has, by line. */
export function itemDifferences(
  wanted: readonly Pick<ProviderInvoiceItem, 'line' | 'amount'>[],
  placed: readonly Pick<PlacedItem, 'line' | 'amount'>[],
): { line: string; provider: number; meterline: number }[] {
  const sum = (items: readonly { line: string; amount: number }[]) => {
    const by = new Map<string, number>();
    for (const i of items) by.set(i.line, (by.get(i.line) ?? 0) + i.amount);
    return by;
  };
  const [own, theirs] = [sum(wanted), sum(placed)];
  return [...new Set([...own.keys(), ...theirs.keys()])]
    .sort()
    .map((line) => ({ line, provider: theirs.get(line) ?? 0, meterline: own.get(line) ?? 0 }))
    .filter((d) => d.provider !== d.meterline);
}
