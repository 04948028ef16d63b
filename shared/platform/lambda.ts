import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { logger, metrics } from './observability.js';

/**
 * Every function's middy chain: the logger carries the invocation's context (keys reset per invocation, so one
 * tenant's keys never leak into the next), and the metrics an invocation added are published when it ends, on
 * success or failure.
 */
export function lambdaHandler<Event, Result>() {
  return middy<Event, Result>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics));
}
