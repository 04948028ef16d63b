import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { sourceMappedStackTraces } from './stack-traces.js';

// In Lambda every function imports this module first thing; locally, tsx and vitest map stacks themselves.
if (process.env.AWS_LAMBDA_FUNCTION_NAME) sourceMappedStackTraces();

/**
 * Structured JSON logs and CloudWatch EMF metrics, one instance of each per function. Every metric carries
 * the stage (STAGE, set by the stack) beside the service, so stacks sharing an account never feed each
 * other's alarms. Metrics' own warnings (an invocation that published none) go through the logger, so they are
 * structured like every other line and obey POWERTOOLS_LOG_LEVEL, rather than reaching the console regardless.
 */
export const logger = new Logger({ serviceName: 'meterline' });
export const metrics = new Metrics({
  namespace: 'Meterline',
  serviceName: 'meterline',
  defaultDimensions: { stage: process.env.STAGE ?? 'local' },
  logger,
});
