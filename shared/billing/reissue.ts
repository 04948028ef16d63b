import { ClientError } from '../kernel/errors.js';
import { reverseRun } from './credits.js';
import { draftInvoice } from './invoice-drafts.js';
import { type Invoice, reissuableStatuses } from './invoices.js';
import type { BillingReads, ReissueStore } from './ports.js';
import { deductEarlier } from './progressive.js';
import { periodAt } from './subscriptions.js';

/**
 * Voids an issued invoice and issues a replacement for the same period, priced from the counters as they
 * are now (corrections, late events, a recompute): a new number, `replaces` on the new one (with the
 * line-by-line changes) and `replacedBy` on the old one. Only the tenant's latest invoice can be
 * reissued: a later invoice has already billed this period's late usage as adjustment lines against the
 * quantities it recorded, and pricing this period again would bill that usage twice. The replacement
 * re-checks the period before it exactly as the original did (adjustments against the previous
 * invoice), so nothing the voided invoice carried is lost. Its credit lines are re-derived: the original
 * run's ledger entries are reversed and the credits applied again to the period as it is priced now.
 */
export async function reissueInvoice(
  store: ReissueStore,
  reads: BillingReads,
  tenantId: string,
  id: string,
  now: number,
): Promise<Invoice> {
  const original = await store.getInvoice(tenantId, id);
  if (!original) throw new ClientError('NOT_FOUND', `invoice ${id} does not exist`, 'id');
  if (original.replacedBy) throw new ClientError('CONFLICT', `invoice ${id} was already replaced by ${original.replacedBy}`, 'id');
  if (!reissuableStatuses.includes(original.status)) {
    throw new ClientError(
      'CONFLICT',
      `a ${original.status} invoice cannot be reissued (it can be from ${reissuableStatuses.join(', ')}); refund it first`,
      'id',
    );
  }
  const latest = await store.latestInvoice(tenantId);
  if (latest?.number !== original.number) {
    throw new ClientError(
      'CONFLICT',
      `only the latest invoice (${latest?.number}) can be reissued: later invoices already adjusted this period`,
      'id',
    );
  }
  const sub = await store.getSubscription(tenantId);
  if (!sub) throw new ClientError('CONFLICT', `tenant ${tenantId} has no subscription to price the period with`);
  const start = Date.parse(original.periodStart);
  const previous =
    start > Date.parse(sub.startedAt)
      ? await store.invoiceForPeriod(tenantId, new Date(periodAt(sub, start - 1).start).toISOString())
      : undefined;
  const period = { start, end: Date.parse(original.periodEnd), trial: original.trial };
  const ref = `${original.periodStart}#${original.number}`;
  const ran = original.creditEntries ?? [];
  const reversal = ran.length > 0 ? reverseRun(ran, ran[0]!.ref!, ref, now) : [];
  const ledger = await store.credits(tenantId);
  const known = new Set(ledger.entries.map((e) => e.id));
  const entries = [...ledger.entries, ...ran.filter((e) => !known.has(e.id)), ...reversal];
  const priced = await draftInvoice(reads, sub, period, previous?.billed ?? [], period.end, { grants: ledger.grants, entries, ref });
  // The period's progressive invoices as they stand now (a voided one is no longer deducted).
  const draft = deductEarlier(priced, await store.progressiveInvoices(tenantId, original.periodStart));
  draft.creditEntries = [...reversal, ...(draft.creditEntries ?? [])];
  const replacement = await store.reissueInvoice(original, draft, new Date(now).toISOString());
  if (!replacement) throw new ClientError('CONFLICT', `invoice ${id} changed meanwhile; read it and try again`, 'id');
  await store.appendCreditEntries(replacement.creditEntries ?? []);
  return replacement;
}
