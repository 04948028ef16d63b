import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';

describe('application metrics', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  it('carry the stage (STAGE, set by the stack) beside the service, the dimensions the alarms select', async () => {
    vi.stubEnv('STAGE', 'prod');
    vi.resetModules();
    const { metrics } = await import('../../shared/platform/observability.js');
    metrics.addMetric('WebhookFailures', MetricUnit.Count, 1);
    const emf = metrics.serializeMetrics() as unknown as {
      _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] };
      service: string;
      stage: string;
    };
    expect(emf._aws.CloudWatchMetrics[0]).toMatchObject({
      Namespace: 'Meterline',
      Dimensions: [expect.arrayContaining(['service', 'stage'])],
    });
    expect(emf._aws.CloudWatchMetrics[0]!.Dimensions[0]).toHaveLength(2);
    expect({ service: emf.service, stage: emf.stage }).toEqual({ service: 'meterline', stage: 'prod' });
    metrics.clearMetrics();
  });

  it("warn of an invocation that published none through the functions' logger, at its level", async () => {
    const written = [vi.spyOn(process.stdout, 'write'), vi.spyOn(process.stderr, 'write')];
    // Below the level set, as for any other warning: nothing is written.
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'ERROR');
    vi.resetModules();
    (await import('../../shared/platform/observability.js')).metrics.publishStoredMetrics();
    for (const write of written) expect(write).not.toHaveBeenCalled();

    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'WARN');
    vi.resetModules();
    const { logger, metrics } = await import('../../shared/platform/observability.js');
    const warn = vi.spyOn(logger, 'warn').mockReturnValue();
    metrics.publishStoredMetrics();
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('No application metrics to publish'));
  });
});
