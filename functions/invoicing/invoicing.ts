import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { draftInvoice } from '../../shared/billing/invoice-drafts.js';
import { type Invoice, invoiceIssued, type ProviderInvoice } from '../../shared/billing/invoices.js';
import { billingPaused } from '../../shared/billing/pauses.js';
import { followProviderInvoice } from '../../shared/billing/payments.js';
import type { BillingReads, BillingStore } from '../../shared/billing/ports.js';
import { deductEarlier } from '../../shared/billing/progressive.js';
import { closablePeriods } from '../../shared/billing/subscriptions.js';
import type { DomainEvent } from '../../shared/events/domain-events.js';
import { mapLimit } from '../../shared/kernel/batching.js';
import { lambdaHandler } from '../../shared/platform/lambda.js';
import { logger, metrics } from '../../shared/platform/observability.js';
import type { ScheduledInvocation } from '../../shared/platform/schedule.js';

export interface InvoicingDependencies {
  store: Pick<
    BillingStore,
    | 'subscriptionPages'
    | 'latestInvoice'
    | 'issueInvoices'
    | 'listPauses'
    | 'markAnnounced'
    | 'linkProviderInvoice'
    | 'setInvoiceStatus'
    | 'credits'
    | 'appendCreditEntries'
    | 'progressiveInvoices'
  >;
  /** Stripe's invoice for the same customer and period, when Stripe has settled it before Meterline issued its own. */
  providerInvoice(invoice: Invoice): Promise<ProviderInvoice | undefined>;
  /**
   * Puts the invoice's credit and true-up lines on Stripe's invoice for the period (shared/stripe/invoice-sync.ts);
   * idempotent, so an invoice settled again sends nothing twice.
   */
  sendProviderItems(invoice: Invoice): Promise<void>;
  /** Announces an issued invoice (`invoice.issued` on the event bus and to the tenant's webhooks). */
  publish(event: DomainEvent): Promise<void>;
  reads: BillingReads;
  /** Hours after a period ends before it is closed: the window ingest keeps open for late events. */
  graceHours: number;
  /** Tenants priced at once. */
  concurrency?: number;
}

export interface InvoicingRun {
  subscriptions: number;
  issued: number;
  /** Periods another run closed first: counted, not invoiced again. */
  alreadyClosed: number;
  adjustmentLines: number;
  /** Subscriptions skipped because billing is paused for their tenant (or for all). */
  paused: number;
  /** Issued invoices announced as `invoice.issued` (this run's, and any whose announcement failed before). */
  announced: number;
  failedTenants: string[];
}

/** Periods one tenant may catch up on in one run (two years of monthly periods); the rest wait for the next. */
const MAX_PERIODS_PER_RUN = 24;

/**
 * Closes every period whose grace window has passed at `time` and issues its invoice. Safe to run
 * again or concurrently: an invoice is written only if its period has none, in the same transaction
 * that takes its number. Works a page of subscriptions at a time: prices the next closable period of
 * each tenant (bounded concurrency), issues those invoices in batched transactions, and repeats for
 * the tenants that may have more periods to catch up on. One failing tenant spares the rest. Tenants
 * whose billing is paused are left alone.
 */
export async function runInvoicing(deps: InvoicingDependencies, time: number): Promise<InvoicingRun> {
  const run: InvoicingRun = {
    subscriptions: 0,
    issued: 0,
    alreadyClosed: 0,
    adjustmentLines: 0,
    paused: 0,
    announced: 0,
    failedTenants: [],
  };
  const pauses = await deps.store.listPauses();
  /** After an invoice is issued: its credit entries onto the ledger, then the announcement. */
  const settle = async (invoice: Invoice) => {
    try {
      await deps.store.appendCreditEntries(invoice.creditEntries ?? []);
      await deps.publish(invoiceIssued(invoice));
      // Stripe usually collects before Meterline's grace window ends: the new invoice starts out following it.
      const provider = await deps.providerInvoice(invoice);
      if (provider) await followProviderInvoice(deps.store, deps.publish, invoice, provider, new Date().toISOString());
      // A replacement (a reissue) is issued unannounced too, so it reaches Stripe here as well.
      await deps.sendProviderItems(invoice);
      await deps.store.markAnnounced(invoice, new Date().toISOString());
      run.announced += 1;
    } catch (error) {
      // The invoice stays unannounced and is announced by the next run that reads it as the tenant's latest.
      logger.error('announcing an invoice failed', { tenantId: invoice.tenantId, invoiceId: invoice.id, error: error as Error });
    }
  };
  const graceMs = deps.graceHours * 3_600_000;
  const issuedAt = new Date(time).toISOString();
  // One read of each plan per run: every invoice of the run is priced by the same plan data.
  const plans = new Map<string, ReturnType<BillingReads['plan']>>();
  const reads: BillingReads = { ...deps.reads, plan: (id) => plans.get(id) ?? (plans.set(id, deps.reads.plan(id)), plans.get(id)!) };
  for await (const page of deps.store.subscriptionPages()) {
    run.subscriptions += page.length;
    // A paused tenant's periods stay open; the first run after the resume closes them, each once.
    let work = page.filter((sub) => !billingPaused(pauses, sub.tenantId));
    run.paused += page.length - work.length;
    for (let round = 0; work.length > 0 && round < MAX_PERIODS_PER_RUN; round++) {
      const drafts = await mapLimit(work, deps.concurrency ?? 16, async (sub) => {
        try {
          const latest = await deps.store.latestInvoice(sub.tenantId);
          // An invoice is announced after its credit entries are on the ledger: one not announced may lack them.
          if (round === 0 && latest && !latest.announcedAt) await settle(latest);
          const [period] = closablePeriods(sub, latest ? Date.parse(latest.periodEnd) : undefined, time, graceMs);
          if (!period) return undefined;
          const periodStart = new Date(period.start).toISOString();
          const credits = { ...(await deps.store.credits(sub.tenantId)), ref: periodStart };
          const draft = await draftInvoice(reads, sub, period, latest?.billed ?? [], period.end, credits);
          // What the period's progressive invoices already billed comes off the final one.
          return { sub, draft: deductEarlier(draft, await deps.store.progressiveInvoices(sub.tenantId, periodStart)) };
        } catch (error) {
          logger.error('pricing a period failed', { tenantId: sub.tenantId, error: error as Error });
          run.failedTenants.push(sub.tenantId);
          return undefined;
        }
      });
      const ready = drafts.filter((d) => d !== undefined);
      const outcome = await deps.store.issueInvoices(
        ready.map((d) => d.draft),
        issuedAt,
      );
      run.issued += outcome.issued.length;
      await mapLimit(outcome.issued, deps.concurrency ?? 16, settle);
      run.alreadyClosed += outcome.alreadyClosed.length;
      run.adjustmentLines += outcome.issued.reduce((n, i) => n + i.lines.filter((l) => l.kind === 'adjustment').length, 0);
      work = ready.map((d) => d.sub);
    }
  }
  return run;
}

export function createInvoicingJob(deps: InvoicingDependencies) {
  return lambdaHandler<ScheduledInvocation, InvoicingRun>().handler(async (invocation) => {
    const run = await runInvoicing(deps, Date.parse(invocation.time));
    logger.info('invoicing run', { ...run, time: invocation.time });
    metrics.addMetric('InvoicesIssued', MetricUnit.Count, run.issued);
    metrics.addMetric('InvoicingFailures', MetricUnit.Count, run.failedTenants.length);
    return run;
  });
}
