import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { type ExportOutcome, type ExportPorts, runExport } from '../../shared/metering/usage-export.js';
import { lambdaHandler } from '../../shared/platform/lambda.js';
import { logger, metrics } from '../../shared/platform/observability.js';
import type { ScheduledInvocation } from '../../shared/platform/schedule.js';

export interface UsageExportDependencies extends ExportPorts {
  /** How long before the run's scheduled time its cut-off lies: folds still committing are left to the next run. */
  settleSeconds: number;
}

/**
 * The Parquet export (EventBridge, daily): writes the partitions the ledger changed in since the last run
 * (shared/metering/usage-export.ts). A failed run records nothing, and the next one (or a retry) writes the same
 * partitions again, with the same files.
 */
export function createUsageExport(deps: UsageExportDependencies) {
  return lambdaHandler<ScheduledInvocation, ExportOutcome>().handler(async (invocation) => {
    const to = new Date(Date.parse(invocation.time) - deps.settleSeconds * 1000).toISOString();
    const outcome = await runExport(deps, to);
    metrics.addMetric('ExportRows', MetricUnit.Count, outcome.rows);
    metrics.addMetric('ExportFiles', MetricUnit.Count, outcome.files);
    metrics.addMetric('ExportBytes', MetricUnit.Bytes, outcome.bytes);
    logger.info('usage exported', { ...outcome });
    return outcome;
  });
}
