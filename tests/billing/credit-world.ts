import { type CreditGrant, type GrantRequest, type LedgerEntry, newGrant } from '../../shared/billing/credits.js';
import { draftInvoice } from '../../shared/billing/invoice-drafts.js';
import type { Plan } from '../../shared/billing/plans.js';
import type { BillingReads } from '../../shared/billing/ports.js';
import { newSubscription } from '../../shared/billing/subscriptions.js';
import { seedMeters } from '../../shared/metering/seed-meters.js';

/**
 * Hand-computed scenarios of prepaid credits and minimum commitments, through the same draftInvoice the
 * invoice job closes periods with. Usage is a list of (meter, instant, quantity); the fake reads count it
 * up to the instant asked for, as the counters do.
 */
export const t = (s: string) => Date.parse(s);
export const MARCH = { start: t('2026-03-01T00:00:00Z'), end: t('2026-04-01T00:00:00Z'), trial: false };
export const APRIL = { start: t('2026-04-01T00:00:00Z'), end: t('2026-05-01T00:00:00Z'), trial: false };

/** AI jobs at $2.00 each, no base fee: every amount below is 2 × the jobs. */
export const jobsPlan: Plan = {
  id: 'jobs',
  name: 'Jobs',
  currency: 'USD',
  interval: 'month',
  baseFee: '0',
  prices: { ai_jobs: { model: 'perUnit', unitPrice: '2.00' } },
};

export type Use = { meter: string; at: string; quantity: number };

export function world(plans: Plan[], usage: Use[], taxRate = '0') {
  const reads: BillingReads = {
    plan: async (id) => plans.find((p) => p.id === id),
    meters: async () => seedMeters,
    quantity: async (_tenant, meter, period, asOf) =>
      String(
        usage
          .filter((u) => u.meter === meter.key && t(u.at) >= period.start && t(u.at) < Math.min(asOf, period.end))
          .reduce((s, u) => s + u.quantity, 0),
      ),
  };
  const sub = {
    ...newSubscription({
      tenantId: 'acme',
      planId: plans[0]!.id,
      interval: 'month',
      currency: 'USD',
      startAt: MARCH.start,
      now: MARCH.start,
    }),
    taxRate,
  };
  const grants: CreditGrant[] = [];
  const ledger: LedgerEntry[] = [];
  const grant = (id: string, req: GrantRequest, now = MARCH.start) => {
    const { grant, entry } = newGrant('acme', req, { id, now, currency: 'USD' });
    grants.push(grant);
    ledger.push(entry);
    return grant;
  };
  /** Closes a period: the draft, its credit entries written to the ledger. */
  const close = async (period: typeof MARCH, ref = new Date(period.start).toISOString()) => {
    const draft = await draftInvoice(reads, sub, period, [], period.end, { grants, entries: ledger, ref });
    ledger.push(...(draft.creditEntries ?? []));
    return draft;
  };
  const entriesOf = (grantId: string) =>
    ledger.filter((e) => e.grantId === grantId).map((e) => `${e.kind} ${e.amount} ${e.at.slice(0, 10)}`);
  return { reads, sub, grants, ledger, grant, close, entriesOf };
}

/** The lines as "kind amount [quantity]", leaving out the jobs plan's $0 base fee. */
export const summary = (lines: { kind: string; description: string; amount: string; quantity: string }[]) =>
  lines
    .filter((l) => l.kind !== 'base' || l.amount !== '0.00')
    .map((l) => `${l.kind} ${l.amount}${l.kind === 'credit' ? ` ${l.quantity}` : ''}`);
