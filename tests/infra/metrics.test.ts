import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';

describe('application metrics', () => {
  afterEach(() => {
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
});
