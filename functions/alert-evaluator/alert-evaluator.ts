import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { EpisodeRule } from '../../shared/alerts/episodes.js';
import type { AlertStore } from '../../shared/alerts/ports.js';
import {
  crossedRules,
  firingEvent,
  isThresholdRule,
  quotaFiringId,
  reachedQuotas,
  type ThresholdAlert,
} from '../../shared/alerts/rules.js';
import { periodSnapshot, type SnapshotReads } from '../../shared/alerts/snapshot.js';
import { type WatchDependencies, watchTenant } from '../../shared/alerts/watching.js';
import { type Invoice, invoiceIssued } from '../../shared/billing/invoices.js';
import { billingPaused } from '../../shared/billing/pauses.js';
import type { BillingStore, ProgressiveStore } from '../../shared/billing/ports.js';
import { checkThresholds } from '../../shared/billing/progressive.js';
import type { Quota } from '../../shared/billing/quotas.js';
import type { DomainEvent } from '../../shared/events/domain-events.js';
import { mapLimit } from '../../shared/kernel/batching.js';
import { lambdaHandler } from '../../shared/platform/lambda.js';
import { logger, metrics } from '../../shared/platform/observability.js';
import type { ScheduledInvocation } from '../../shared/platform/schedule.js';

export interface AlertEvaluatorDependencies {
  tenantIds(): Promise<string[]>;
  alerts: Pick<AlertStore, 'listAlerts' | 'firings' | 'recordFiring' | 'markNotified' | 'watches' | 'saveWatch'>;
  reads: SnapshotReads;
  counters: WatchDependencies['counters'];
  /** Progressive billing: the invoices a threshold crossing issues, announced as `invoice.issued`. */
  invoices: ProgressiveStore & Pick<BillingStore, 'markAnnounced' | 'listPauses'>;
  /** Makes a progressive invoice a Stripe invoice for a tenant on Stripe (shared/stripe/invoice-sync.ts); idempotent. */
  sendToStripe(invoice: Invoice): Promise<unknown>;
  publish(event: DomainEvent): Promise<void>;
  /** Epoch milliseconds. */
  now(): number;
}

export interface AlertRun {
  tenants: number;
  fired: number;
  /** Anomaly and silence episodes opened. */
  episodes: number;
  notified: number;
  /** Progressive invoices issued for a threshold crossing. */
  progressiveInvoices: number;
  failedTenants: string[];
}

/**
 * The scheduled alert evaluator: for every tenant with rules or hard quotas, compares the billing
 * period's values (as of the run's due time) with the thresholds. A crossing is recorded once per rule
 * and period, then published; a publication that failed is retried on the next run, so subscribers may
 * see one twice (they drop it by its id), never zero. Anomaly and silence rules advance their episodes
 * (shared/alerts/watching.ts) the same way. Every subscribed tenant's open period is checked against its
 * progressive billing thresholds too (shared/billing/progressive.ts), unless its billing is paused: a
 * crossing issues an invoice at once, sent to Stripe for a tenant on Stripe, then announced like the invoice job's.
 * One failing tenant spares the rest.
 */
export function createAlertEvaluator(deps: AlertEvaluatorDependencies) {
  return lambdaHandler<ScheduledInvocation, AlertRun>().handler(async (invocation) => {
    const now = Date.parse(invocation.time);
    const run: AlertRun = { tenants: 0, fired: 0, episodes: 0, notified: 0, progressiveInvoices: 0, failedTenants: [] };
    const pauses = await deps.invoices.listPauses();
    await mapLimit(await deps.tenantIds(), 8, async (tenantId) => {
      try {
        if (!billingPaused(pauses, tenantId)) await invoiceThresholds(deps, run, tenantId, now);
        const [alerts, quotas] = await Promise.all([deps.alerts.listAlerts(tenantId), deps.reads.quotas(tenantId)]);
        if (alerts.length === 0 && quotas.length === 0) return;
        run.tenants += 1;
        const thresholds = alerts.filter(isThresholdRule);
        if (thresholds.length > 0 || quotas.length > 0) await evaluateTenant(deps, run, tenantId, thresholds, quotas, now);
        const watched = await watchTenant(
          {
            alerts: deps.alerts,
            counters: deps.counters,
            meters: async (id) => (await deps.reads.billing.meters(id)).map((m) => m.key),
            publish: deps.publish,
          },
          tenantId,
          alerts.filter((a): a is EpisodeRule => !isThresholdRule(a)),
          now,
        );
        run.episodes += watched.opened;
        run.notified += watched.notified;
      } catch (error) {
        logger.error('alert evaluation failed for a tenant', { tenantId, error: error as Error });
        run.failedTenants.push(tenantId);
      }
    });
    metrics.addMetric('AlertsFired', MetricUnit.Count, run.fired + run.episodes);
    metrics.addMetric('AlertEvaluationFailures', MetricUnit.Count, run.failedTenants.length);
    metrics.addMetric('ProgressiveInvoicesIssued', MetricUnit.Count, run.progressiveInvoices);
    return run;
  });
}

/**
 * Issues the progressive invoice a threshold crossing calls for, sends it to Stripe and announces it (and any whose
 * sending or announcement failed: it stays unannounced until both are done, and sending again sends nothing twice).
 */
async function invoiceThresholds(deps: AlertEvaluatorDependencies, run: AlertRun, tenantId: string, now: number) {
  const sub = await deps.reads.subscription(tenantId);
  if (!sub) return;
  const check = await checkThresholds(deps.invoices, deps.reads.billing, sub, now);
  if (check.issued) run.progressiveInvoices += 1;
  for (const invoice of [...check.unannounced, ...(check.issued ? [check.issued] : [])]) {
    await deps.sendToStripe(invoice);
    await deps.publish(invoiceIssued(invoice));
    await deps.invoices.markAnnounced(invoice, new Date(deps.now()).toISOString());
  }
}

async function evaluateTenant(
  deps: AlertEvaluatorDependencies,
  run: AlertRun,
  tenantId: string,
  alerts: ThresholdAlert[],
  quotas: Quota[],
  now: number,
) {
  const snapshot = await periodSnapshot(deps.reads, tenantId, alerts, quotas, now);
  const period = new Date(snapshot.period.start).toISOString();
  const recorded = new Map((await deps.alerts.firings(tenantId, period)).map((f) => [f.alertId, f]));
  const crossings = [
    ...crossedRules(alerts, snapshot).map((c) => ({
      alert: c.alert as ThresholdAlert | undefined,
      id: c.alert.id,
      value: c.value,
      threshold: c.threshold,
    })),
    ...reachedQuotas(snapshot).map((q) => ({ alert: undefined, id: quotaFiringId(q.meter), value: q.value, threshold: q.limit })),
  ];
  for (const crossing of crossings) {
    let firing = recorded.get(crossing.id);
    if (!firing) {
      firing = {
        alertId: crossing.id,
        period,
        value: crossing.value,
        threshold: crossing.threshold,
        firedAt: new Date(deps.now()).toISOString(),
      };
      if (!(await deps.alerts.recordFiring(tenantId, firing))) continue; // a concurrent run has it
      run.fired += 1;
    }
    if (firing.notifiedAt) continue;
    await deps.publish(firingEvent(tenantId, crossing.alert, firing, snapshot.period, snapshot.spend?.currency));
    await deps.alerts.markNotified(tenantId, firing, new Date(deps.now()).toISOString());
    run.notified += 1;
  }
}
