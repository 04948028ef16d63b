import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import type { AlertNotifier, AlertStore } from '../../shared/alerts/ports.js';
import { crossedAlerts, notificationOf } from '../../shared/alerts/rules.js';
import { mapLimit } from '../../shared/kernel/batching.js';
import { periodKey } from '../../shared/kernel/periods.js';
import { logger, metrics } from '../../shared/platform/observability.js';
import type { ScheduledInvocation } from '../../shared/platform/schedule.js';

export interface AlertEvaluatorDependencies {
  tenantIds(): Promise<string[]>;
  alerts: Pick<AlertStore, 'listAlerts' | 'firings' | 'recordFiring' | 'markNotified'>;
  /** The meter's value for the month (a decimal string). */
  monthValue(tenantId: string, meter: string, month: string): Promise<string>;
  notify: AlertNotifier['notify'];
  /** Epoch milliseconds. */
  now(): number;
}

export interface AlertRun {
  tenants: number;
  fired: number;
  notified: number;
  failedTenants: string[];
}

/**
 * The scheduled alert evaluator: for every tenant with alerts, compares this month's meter values with
 * the thresholds. A crossing is recorded once per alert and month, then notified; a notification that
 * failed is retried on the next run, so subscribers may see one twice (they dedupe on its id), never zero.
 */
export function createAlertEvaluator(deps: AlertEvaluatorDependencies) {
  return middy<ScheduledInvocation, AlertRun>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .handler(async (invocation) => {
      const month = periodKey('month', Date.parse(invocation.time));
      const run: AlertRun = { tenants: 0, fired: 0, notified: 0, failedTenants: [] };
      await mapLimit(await deps.tenantIds(), 8, async (tenantId) => {
        try {
          const alerts = await deps.alerts.listAlerts(tenantId);
          if (alerts.length === 0) return;
          run.tenants += 1;
          const meters = [...new Set(alerts.map((a) => a.meter))];
          const usage = new Map(await Promise.all(meters.map(async (m) => [m, await deps.monthValue(tenantId, m, month)] as const)));
          const firings = await deps.alerts.firings(tenantId, month);
          for (const { alert, value } of crossedAlerts(alerts, usage)) {
            let firing = firings.get(alert.id);
            if (!firing) {
              firing = { alertId: alert.id, period: month, value, firedAt: new Date(deps.now()).toISOString() };
              if (!(await deps.alerts.recordFiring(tenantId, firing))) continue; // a concurrent run has it
              run.fired += 1;
            }
            if (firing.notifiedAt) continue;
            await deps.notify(notificationOf(alert, firing));
            await deps.alerts.markNotified(tenantId, firing, new Date(deps.now()).toISOString());
            run.notified += 1;
          }
        } catch (error) {
          logger.error('alert evaluation failed for a tenant', { tenantId, error: error as Error });
          run.failedTenants.push(tenantId);
        }
      });
      metrics.addMetric('AlertsFired', MetricUnit.Count, run.fired);
      metrics.addMetric('AlertEvaluationFailures', MetricUnit.Count, run.failedTenants.length);
      metrics.publishStoredMetrics();
      return run;
    });
}
