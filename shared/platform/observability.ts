import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

/**
 * Structured JSON logs and CloudWatch EMF metrics, one instance of each per function. Every metric carries
 * the stage (STAGE, set by the stack) beside the service, so stacks sharing an account never feed each
 * other's alarms.
 */
export const logger = new Logger({ serviceName: 'meterline' });
export const metrics = new Metrics({
  namespace: 'Meterline',
  serviceName: 'meterline',
  defaultDimensions: { stage: process.env.STAGE ?? 'local' },
});
