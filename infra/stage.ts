import { RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { REPORT_WORKERS } from '../shared/stripe/report-slices.js';
import { emailQueueSettings, type FunctionName, webhookQueueSettings } from './catalog.js';

/** What differs between a throwaway development stack and production, chosen by `-c stage=dev|prod`. */
export interface StageConfig {
  name: 'dev' | 'prod';
  /** Tables, queues, secrets, buckets and log groups: kept on stack deletion in production. */
  dataRemovalPolicy: RemovalPolicy;
  deletionProtection: boolean;
  logRetention: RetentionDays;
  /** Default-stage HTTP API throttling, requests per second (steady) and burst, each route on its own. */
  apiThrottle: { rateLimit: number; burstLimit: number };
  /**
   * The tenant ingest and read routes' throttle (the routes shared/tenancy/rate-limits.ts counts), below apiThrottle:
   * a flood on one of them takes a bounded share of the account's API Gateway rate, and the admin routes keep theirs.
   */
  tenantRouteThrottle: { rateLimit: number; burstLimit: number };
  /** Alarms notify an SNS topic with a subscriber from configuration; dev alarms only show on the dashboard. */
  alarmTopic: boolean;
  /**
   * Reserved concurrency: a share of the account's Lambda concurrency no other function can take (and the most
   * these functions use), so a flood on the API cannot starve aggregation, the Stripe webhook or the billing jobs.
   * Lambda keeps at least 100 of the account's concurrency unreserved, and new accounts start with a quota as low
   * as 10, so a stage may reserve nothing (dev) and prod needs a concurrency quota of at least 100 + the sum here.
   */
  reservedConcurrency: Partial<Record<FunctionName, number>>;
  /**
   * Days the raw ledger's monthly exports are kept (and, in prod, locked against deletion): as long as an invoice
   * built from that usage can be disputed.
   */
  evidenceRetentionDays: number;
  /** S3 Object Lock (compliance mode) on the evidence bucket: nobody, root included, can delete an export early. */
  evidenceObjectLock: boolean;
  /** Days the Parquet usage export keeps a file (docs/usage-export.md): years, where the ledger keeps 40 days. */
  exportRetentionDays: number;
  /** Athena's per-query scan limit in the usage workgroup: a query that would read more is cancelled (and billed up to it). */
  exportQueryScanLimitBytes: number;
}

/**
 * The consumer's event source mapping scales to at most this many concurrent batches (infra/functions.ts says why);
 * its reservation matches, since a reservation below the mapping's maximum only turns batches into throttles.
 */
export const consumerMaxConcurrency = 10;

const stages: Record<StageConfig['name'], StageConfig> = {
  dev: {
    name: 'dev',
    dataRemovalPolicy: RemovalPolicy.DESTROY,
    deletionProtection: false,
    logRetention: RetentionDays.TWO_WEEKS,
    apiThrottle: { rateLimit: 50, burstLimit: 100 },
    tenantRouteThrottle: { rateLimit: 25, burstLimit: 50 },
    alarmTopic: false,
    // Nothing reserved: dev accounts are often new, with a concurrency quota below the 100 Lambda keeps unreserved;
    // the consumer is still capped by its event source mapping and the API by its throttle.
    reservedConcurrency: {},
    evidenceRetentionDays: 30,
    evidenceObjectLock: false,
    exportRetentionDays: 30,
    // 1 GB: about half a cent a query at Athena's $5 per TB.
    exportQueryScanLimitBytes: 1_000_000_000,
  },
  prod: {
    name: 'prod',
    dataRemovalPolicy: RemovalPolicy.RETAIN,
    deletionProtection: true,
    logRetention: RetentionDays.ONE_YEAR,
    // Well under the account's 10,000 rps so one runaway client cannot starve the rest of the account;
    // ingest takes up to 1,000 events per request, so this admits far more events per second than any tenant sends.
    apiThrottle: { rateLimit: 2000, burstLimit: 4000 },
    // Ten of the account's 10,000 requests a second per flooded route; each tenant is held far lower by its own limit.
    tenantRouteThrottle: { rateLimit: 1000, burstLimit: 2000 },
    alarmTopic: true,
    // docs/operations.md gives the total and the account quota it needs (a test holds the two together).
    reservedConcurrency: {
      consumer: consumerMaxConcurrency,
      // As many as the email queue's mapping runs at once; the links function answers people clicking in mail.
      'email-delivery': emailQueueSettings.maxConcurrency,
      'email-links': 5,
      // Stripe retries a throttled (429) delivery with backoff; ten at a time is far above its delivery rate to one endpoint.
      'stripe-webhook': 10,
      // One run at a time: a retry or a late run waits (Lambda retries throttled asynchronous invocations) rather than
      // overlapping a run that is still going.
      'usage-report': 1,
      // As many as the report queue's mapping runs at once (a reservation below it would only throttle slices).
      'usage-report-worker': REPORT_WORKERS,
      // As many as the webhook queue's mapping runs at once: slow tenant endpoints hold no more of the account than this.
      'webhook-delivery': webhookQueueSettings.maxConcurrency,
      invoicing: 1,
      'alert-evaluator': 1,
      // Each recompute job scans the whole ledger: two at a time at most, so jobs never crowd the table.
      'recompute-worker': 2,
      // One fleet simulation run at a time: its jobs take turns, each resumed where the last run left it.
      'simulation-worker': 1,
      // One export at a time: a late run waits rather than writing the same partitions beside another.
      'usage-export': 1,
    },
    // Two years: card networks accept disputes for up to 540 days after a charge, and invoices are paid in arrears.
    evidenceRetentionDays: 730,
    evidenceObjectLock: true,
    // Seven years, the usual span for billing records; an operator sets their own here.
    exportRetentionDays: 2555,
    // 100 GB: at most $0.50 a query.
    exportQueryScanLimitBytes: 100_000_000_000,
  },
};

export function stageConfig(name: unknown): StageConfig {
  if (name === 'dev' || name === 'prod') return stages[name];
  throw new Error(`Unknown stage ${JSON.stringify(name)}: pass -c stage=dev or -c stage=prod`);
}
