import { Dec } from '../kernel/decimal.js';
import { formatMoney, roundMoney, subtractMoney, sumMoney } from '../kernel/money.js';
import { draftInvoice, requirePlan } from './invoice-drafts.js';
import type { Invoice, InvoiceDraft } from './invoices.js';
import type { BillingReads, ProgressiveStore } from './ports.js';
import type { InvoiceLine } from './pricing.js';
import { hasEnded, periodAt, type Subscription, usagePlanId } from './subscriptions.js';
import { reachedThreshold, type Thresholds, thresholdAmount } from './thresholds.js';

/**
 * Progressive (threshold) billing. A plan or subscription may set thresholds on the period's amount due:
 * `amount`, then every further `every` (both in the plan's currency). When the amount due so far crosses
 * one, an invoice is issued at once for the period so far, less what the period's earlier invoices
 * already billed; the period's final invoice deducts them all, so the period's invoices add up to exactly
 * what one invoice for the whole period would say.
 *
 * Every invoice of a period (progressive or final) is the whole period priced so far, then one
 * "Already invoiced" line per earlier invoice taking off its subtotal. Tax is rounded once over the
 * period: an invoice's tax is the tax on the period so far less the tax the earlier invoices charged.
 * So a volume tier reached later, a correction, or credits burning simply show in the next invoice's
 * difference, which can be negative on the final invoice.
 */

/** What a progressive invoice records about the threshold that issued it. */
export interface ProgressiveMark {
  /** 0 for `amount`, 1 for `amount + every`, ... */
  index: number;
  threshold: string;
  /** The period's amount due before tax when it was issued (its lines before the deductions). */
  amountDue: string;
}

/** The thresholds a subscription's period runs under: the subscription's own, else its plan's. */
export const thresholdsOf = (sub: Subscription, plan: { thresholds?: Thresholds }): Thresholds | undefined =>
  sub.thresholds ?? plan.thresholds;

/** The period's amount due before tax that a draft states: its lines before any deduction of earlier invoices. */
export const amountDue = (draft: Pick<InvoiceDraft, 'lines' | 'currency'>): string =>
  sumMoney(
    draft.lines.filter((l) => l.kind !== 'progressive').map((l) => l.amount),
    draft.currency,
  );

/** Earlier invoices a period's next invoice deducts: every progressive invoice of the period but the voided ones. */
export const deducted = (earlier: readonly Invoice[]) => earlier.filter((i) => i.progressive && i.status !== 'void');

/**
 * `draft` (the whole period priced so far) less what `earlier` invoices of its period billed: one line per
 * invoice, its subtotal taken off, and the tax rounded once on the period, less their tax.
 */
export function deductEarlier(draft: InvoiceDraft, earlier: readonly Invoice[]): InvoiceDraft {
  const counted = deducted(earlier);
  if (counted.length === 0) return draft;
  const money = (a: string) => formatMoney(a, draft.currency);
  const deductions: InvoiceLine[] = counted.map((i) => ({
    kind: 'progressive',
    invoiceId: i.id,
    description: `Already invoiced: ${i.number} (threshold ${money(i.progressive!.threshold)} reached ${i.issuedAt.slice(0, 10)})`,
    quantity: '1',
    amount: subtractMoney('0', i.subtotal, draft.currency),
  }));
  const lines = [...draft.lines.filter((l) => l.kind !== 'progressive'), ...deductions];
  const periodTax = roundMoney(new Dec(amountDue(draft)).times(draft.taxRate), draft.currency);
  const tax = subtractMoney(
    periodTax,
    sumMoney(
      counted.map((i) => i.tax),
      draft.currency,
    ),
    draft.currency,
  );
  const subtotal = sumMoney(
    lines.map((l) => l.amount),
    draft.currency,
  );
  return { ...draft, lines, subtotal, tax, total: sumMoney([subtotal, tax], draft.currency) };
}

/**
 * The progressive invoice to issue for a period priced so far (`upcoming`, drafted up to now with its
 * credits), given its earlier progressive invoices, or undefined when no threshold above the last one
 * invoiced has been reached (or reaching it would bill nothing more). The minimum commitment is left to the
 * final invoice (it measures the whole period); credit ledger entries are written by the final invoice only.
 */
export function nextProgressive(t: Thresholds, upcoming: InvoiceDraft, earlier: readonly Invoice[]): InvoiceDraft | undefined {
  const { creditEntries: _entries, commitment: _commitment, ...rest } = upcoming;
  const base: InvoiceDraft = { ...rest, lines: upcoming.lines.filter((l) => l.kind !== 'commitment'), billed: [] };
  const due = amountDue(base);
  const index = reachedThreshold(t, due);
  const last = Math.max(-1, ...earlier.map((i) => i.progressive?.index ?? -1));
  if (index === undefined || index <= last) return undefined;
  const draft = deductEarlier(base, earlier);
  if (!new Dec(draft.subtotal).greaterThan(0)) return undefined;
  return { ...draft, progressive: { index, threshold: thresholdAmount(t, index), amountDue: due } };
}

/** A period's progressive invoice just issued, and those of its period not yet announced (a failed announcement). */
export interface ThresholdCheck {
  issued?: Invoice;
  unannounced: Invoice[];
}

/**
 * Checks a tenant's open period against its thresholds at `now` and issues the progressive invoice a
 * crossing calls for. Safe to run again or concurrently: the store writes a period's next progressive
 * invoice only if no other was written since the ones read, keyed by the threshold's index, and only while
 * the period has no final invoice.
 */
export async function checkThresholds(
  store: ProgressiveStore,
  reads: BillingReads,
  sub: Subscription,
  now: number,
): Promise<ThresholdCheck> {
  if (now < Date.parse(sub.startedAt) || hasEnded(sub, now)) return { unannounced: [] };
  const period = periodAt(sub, now);
  if (period.trial) return { unannounced: [] };
  const thresholds = thresholdsOf(sub, await requirePlan(reads, usagePlanId(sub, period)));
  const periodStart = new Date(period.start).toISOString();
  const earlier = thresholds ? await store.progressiveInvoices(sub.tenantId, periodStart) : [];
  const unannounced = earlier.filter((i) => !i.announcedAt);
  if (!thresholds) return { unannounced };
  const ledger = await store.credits(sub.tenantId);
  const upcoming = await draftInvoice(reads, sub, period, [], now, { ...ledger, ref: periodStart });
  const next = nextProgressive(thresholds, upcoming, earlier);
  if (!next) return { unannounced };
  const issued = await store.issueProgressive(next, earlier.length, new Date(now).toISOString());
  return { ...(issued ? { issued } : {}), unannounced };
}
