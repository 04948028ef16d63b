import { RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';

/** What differs between a throwaway development stack and production, chosen by `-c stage=dev|prod`. */
export interface StageConfig {
  name: 'dev' | 'prod';
  /** Tables, secrets, buckets and log groups: kept on stack deletion in production. */
  dataRemovalPolicy: RemovalPolicy;
  deletionProtection: boolean;
  logRetention: RetentionDays;
  /** Default-stage HTTP API throttling, requests per second (steady) and burst. */
  apiThrottle: { rateLimit: number; burstLimit: number };
  /** Alarms notify an SNS topic (subscribe with `-c alarmEmail=...` or later); dev alarms only show on the dashboard. */
  alarmTopic: boolean;
}

const stages: Record<StageConfig['name'], StageConfig> = {
  dev: {
    name: 'dev',
    dataRemovalPolicy: RemovalPolicy.DESTROY,
    deletionProtection: false,
    logRetention: RetentionDays.TWO_WEEKS,
    apiThrottle: { rateLimit: 50, burstLimit: 100 },
    alarmTopic: false,
  },
  prod: {
    name: 'prod',
    dataRemovalPolicy: RemovalPolicy.RETAIN,
    deletionProtection: true,
    logRetention: RetentionDays.ONE_YEAR,
    // Well under the account's 10,000 rps so one runaway client cannot starve the rest of the account;
    // ingest takes up to 1,000 events per request, so this admits far more events per second than any tenant sends.
    apiThrottle: { rateLimit: 2000, burstLimit: 4000 },
    alarmTopic: true,
  },
};

export function stageConfig(name: unknown): StageConfig {
  if (name === 'dev' || name === 'prod') return stages[name];
  throw new Error(`Unknown stage ${JSON.stringify(name)}: pass -c stage=dev or -c stage=prod`);
}
