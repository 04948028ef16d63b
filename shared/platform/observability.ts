import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

/** Structured JSON logs and CloudWatch EMF metrics, one instance of each per function. */
export const logger = new Logger({ serviceName: 'meterline' });
export const metrics = new Metrics({ namespace: 'Meterline', serviceName: 'meterline' });
