import { Duration } from 'aws-cdk-lib';
import type { HttpStage } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { TableName } from '../shared/platform/dynamo/tables.js';
import { type FunctionName, type FunctionSpec, functionSpecs } from './catalog.js';
import { acknowledge } from './nag.js';
import { pascal } from './names.js';
import type { Job } from './schedules.js';
import type { StageConfig } from './stage.js';

export interface ObservabilityProps {
  stage: StageConfig;
  functions: Record<FunctionName, LambdaFunction>;
  tables: Record<TableName, Table>;
  usageQueue: Queue;
  usageDeadLetterQueue: Queue;
  /** Slices of the Stripe report that kept failing: their tenants were not reported that day. */
  reportDeadLetterQueue: Queue;
  /** Deliveries to tenants' webhook endpoints (one message per attempt). */
  webhookQueue: Queue;
  /** Deliveries whose worker kept failing: those tenants were never notified. */
  webhookDeadLetterQueue: Queue;
  scheduleDeadLetterQueue: Queue;
  /** Monthly ledger export runs Scheduler could not start (infra/evidence.ts). */
  ledgerExportFailureQueue: Queue;
  /** The workflow that starts each ledger export and follows it to the end. */
  ledgerExportWorkflow: StateMachine;
  jobs: Job[];
  apiStage: HttpStage;
  /** Subscribed to the alarm topic where the stage has one (infra/alarm-email.ts). */
  alarmEmail?: string;
}

/** The runbooks alarms cite: sections of docs/operations.md, by their anchor. */
export const runbooks = {
  usageDeadLetters: 'usage-dead-letter-queue',
  aggregationLag: 'aggregation-lag',
  consumerErrors: 'consumer-errors',
  failedEvents: 'failed-events',
  quarantinedEvents: 'quarantined-events',
  reportFailures: 'stripe-report-failures',
  reconciliation: 'reconciliation-mismatches',
  meterErrors: 'meter-error-reports',
  webhookFailures: 'webhook-failures',
  webhookDeliveries: 'webhook-delivery-dead-letters',
  unprocessableWebhooks: 'unprocessable-webhook-events',
  apiErrors: 'api-server-errors',
  failedJobRuns: 'failed-job-runs',
  missingJobRuns: 'missing-job-runs',
  ledgerExport: 'missed-ledger-export',
  dynamoThrottling: 'dynamodb-throttling',
  lambdaThrottling: 'lambda-throttling',
} as const;

export const OPERATIONS_DOC = 'docs/operations.md';

/** Aggregation is meant to keep up within seconds; five minutes behind means the consumer is stuck or starved. */
const maxMessageAge = Duration.minutes(5);
const fiveMinutes = Duration.minutes(5);

/** The application's own metrics (Powertools EMF: namespace Meterline, dimensions service and stage). */
function appMetric(stage: StageConfig, metricName: string, statistic = 'Sum', period = Duration.minutes(1)): Metric {
  return new Metric({ namespace: 'Meterline', metricName, dimensionsMap: { service: 'meterline', stage: stage.name }, statistic, period });
}

interface AlarmSpec {
  description: string;
  runbook: (typeof runbooks)[keyof typeof runbooks];
  metric: IMetric;
  threshold: number;
  evaluationPeriods?: number;
  comparison?: ComparisonOperator;
  missing?: TreatMissingData;
}

/** Alarms on what needs a person, each naming its runbook, and one dashboard for the pipeline from request to invoice. */
export class Observability extends Construct {
  readonly alarms: Alarm[] = [];
  readonly topic?: Topic;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const { stage } = props;
    if (stage.alarmTopic) {
      // A topic nobody reads is an alarm that goes nowhere.
      if (!props.alarmEmail) throw new Error(`The ${stage.name} stage sends alarms, so it needs a subscriber`);
      this.topic = new Topic(this, 'AlarmTopic', { displayName: `Meterline ${stage.name} alarms`, enforceSSL: true });
      this.topic.addSubscription(new EmailSubscription(props.alarmEmail));
      acknowledge(this.topic, {
        'AwsSolutions-SNS2':
          'Alarm notifications carry alarm names and states, no customer data; CloudWatch cannot publish to a topic under the AWS-managed SNS key.',
        'Serverless-SNSRedrivePolicy':
          'E-mail subscriptions are retried by SNS for about an hour; a dead-letter queue of alarm mails would go unread.',
      });
    }
    const app = (name: string, period = fiveMinutes) => appMetric(stage, name, 'Sum', period);
    const deadLetters = (queue: Queue) =>
      queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(1) });
    const specs = Object.entries(functionSpecs) as [FunctionName, FunctionSpec][];

    // The usage pipeline.
    this.alarm('UsageDlqDepth', {
      description: 'Usage events reached the dead-letter queue.',
      runbook: runbooks.usageDeadLetters,
      metric: deadLetters(props.usageDeadLetterQueue),
      threshold: 1,
    });
    this.alarm('UsageQueueOldestMessageAge', {
      description: `Usage events have waited more than ${maxMessageAge.toMinutes()} minutes to be aggregated.`,
      runbook: runbooks.aggregationLag,
      metric: props.usageQueue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: Duration.minutes(1) }),
      threshold: maxMessageAge.toSeconds(),
      evaluationPeriods: 3,
    });
    for (const [name] of specs.filter(([, spec]) => spec.consumesUsageQueue)) {
      this.alarm(`${pascal(name)}Errors`, {
        description: `The ${name} function failed.`,
        runbook: runbooks.consumerErrors,
        metric: props.functions[name].metricErrors({ statistic: 'Sum', period: fiveMinutes }),
        threshold: 1,
      });
    }
    // Failed events are retried (batch item failures), so a failure is only news when it lasts.
    this.alarm('EventsFailed', {
      description: 'Events have failed to aggregate for 15 minutes.',
      runbook: runbooks.failedEvents,
      metric: app('EventsFailed'),
      threshold: 1,
      evaluationPeriods: 3,
    });
    this.alarm('EventsQuarantined', {
      description: 'Events were quarantined: they can never be counted as sent.',
      runbook: runbooks.quarantinedEvents,
      metric: app('EventsQuarantined'),
      threshold: 1,
    });

    // Billing and Stripe.
    this.alarm('ReportFailures', {
      description: 'Usage could not be reported to Stripe.',
      runbook: runbooks.reportFailures,
      metric: app('ReportFailures'),
      threshold: 1,
    });
    this.alarm('ReportDlqDepth', {
      description: 'A slice of the Stripe usage report failed on every delivery: its tenants were not reported.',
      runbook: runbooks.reportFailures,
      metric: deadLetters(props.reportDeadLetterQueue),
      threshold: 1,
    });
    this.alarm('WebhookDlqDepth', {
      description: 'Deliveries to tenant webhook endpoints failed on every receive of the worker: those tenants were not notified.',
      runbook: runbooks.webhookDeliveries,
      metric: deadLetters(props.webhookDeadLetterQueue),
      threshold: 1,
    });
    this.alarm('ReconciliationMismatches', {
      description: 'A Stripe invoice differs from Meterline’s usage for the period.',
      runbook: runbooks.reconciliation,
      metric: app('ReconciliationMismatches'),
      threshold: 1,
    });
    this.alarm('MeterErrorReports', {
      description: 'Stripe reported invalid meter events.',
      runbook: runbooks.meterErrors,
      metric: app('MeterErrorReports'),
      threshold: 1,
    });
    // The webhook answers 500 itself (Stripe redelivers), so Lambda's Errors only counts crashes: both are watched.
    this.alarm('WebhookFailures', {
      description: 'The Stripe webhook answered 500 (Stripe delivers again, with backoff, for up to three days).',
      runbook: runbooks.webhookFailures,
      metric: app('WebhookFailures', Duration.minutes(15)),
      threshold: 3,
    });
    // Answered 200 so that Stripe stops delivering: nobody else will look at these events again.
    this.alarm('WebhookEventsUnprocessable', {
      description: 'A signed Stripe event cannot be processed (answered 200, kept as an UNPROCESSABLE_WEBHOOK alert).',
      runbook: runbooks.unprocessableWebhooks,
      metric: app('WebhookEventsUnprocessable'),
      threshold: 1,
    });
    for (const [name] of specs.filter(([, spec]) => spec.functionUrl)) {
      this.alarm(`${pascal(name)}Errors`, {
        description: `The ${name} function crashed (a 502 to the caller).`,
        runbook: runbooks.webhookFailures,
        metric: props.functions[name].metricErrors({ statistic: 'Sum', period: fiveMinutes }),
        threshold: 1,
      });
    }
    this.alarm('ApiServerErrors', {
      description: 'The API answered with 5xx errors.',
      runbook: runbooks.apiErrors,
      metric: props.apiStage.metricServerError({ statistic: 'Sum', period: fiveMinutes }),
      threshold: 5,
    });

    // Scheduled jobs: runs that failed, runs that never came, and tenants a finished run could not process.
    this.alarm('ScheduleDlqDepth', {
      description: 'Scheduler could not invoke a job; its input is in the schedule DLQ.',
      runbook: runbooks.failedJobRuns,
      metric: deadLetters(props.scheduleDeadLetterQueue),
      threshold: 1,
    });
    const exports = props.ledgerExportWorkflow;
    this.alarm('LedgerExportFailed', {
      description: 'The monthly ledger export did not complete (not started, failed, timed out or aborted): usage evidence is missing.',
      runbook: runbooks.ledgerExport,
      metric: new MathExpression({
        expression: 'FILL(unstarted, 0) + FILL(failed, 0) + FILL(timedOut, 0) + FILL(aborted, 0)',
        usingMetrics: {
          unstarted: deadLetters(props.ledgerExportFailureQueue).with({ period: fiveMinutes }),
          failed: exports.metricFailed({ statistic: 'Sum', period: fiveMinutes }),
          timedOut: exports.metricTimedOut({ statistic: 'Sum', period: fiveMinutes }),
          aborted: exports.metricAborted({ statistic: 'Sum', period: fiveMinutes }),
        },
        period: fiveMinutes,
        label: 'ledger exports missed',
      }),
      threshold: 1,
    });
    for (const job of props.jobs) {
      const id = pascal(job.name);
      this.alarm(`${id}FailedRuns`, {
        description: `A ${job.name} run failed after Lambda's retries; it waits in its failure queue.`,
        runbook: runbooks.failedJobRuns,
        metric: deadLetters(job.failureQueue),
        threshold: 1,
      });
      // One period per interval up to an hour, and two more, so a run that is merely a minute late does not alarm.
      const period = job.interval.toSeconds() <= 3600 ? job.interval : Duration.hours(1);
      const periods = Math.ceil(job.interval.toSeconds() / period.toSeconds()) + 2;
      this.alarm(`${id}MissingRuns`, {
        description: `${job.name} has not run for ${periods * period.toMinutes()} minutes (it runs every ${job.interval.toMinutes()}).`,
        runbook: runbooks.missingJobRuns,
        metric: job.fn.metricInvocations({ statistic: 'Sum', period }),
        threshold: 1,
        evaluationPeriods: periods,
        comparison: ComparisonOperator.LESS_THAN_THRESHOLD,
        // Lambda publishes nothing for a function that did not run: no data is the failure here.
        missing: TreatMissingData.BREACHING,
      });
    }
    for (const metric of ['InvoicingFailures', 'AlertEvaluationFailures']) {
      this.alarm(metric, {
        description: `A job run finished but could not process some tenants (${metric}).`,
        runbook: runbooks.failedJobRuns,
        metric: app(metric),
        threshold: 1,
      });
    }

    // Throttling: the retries hide a burst; sustained throttling is a capacity or concurrency problem.
    for (const [name, table] of Object.entries(props.tables) as [TableName, Table][]) {
      const throttles = new MathExpression({
        expression: 'reads + writes',
        usingMetrics: {
          reads: table.metric('ReadThrottleEvents', { statistic: 'Sum' }),
          writes: table.metric('WriteThrottleEvents', { statistic: 'Sum' }),
        },
        period: fiveMinutes,
        label: `${name} throttled requests`,
      });
      this.alarm(`${pascal(name)}TableThrottles`, {
        description: `DynamoDB throttled the ${name} table for 15 minutes.`,
        runbook: runbooks.dynamoThrottling,
        metric: throttles,
        threshold: 1,
        evaluationPeriods: 3,
      });
    }
    // Not on the scheduled jobs: their reservation is a one-at-a-time lock, so a throttle is a run waiting its turn;
    // a run that never gets one lands in the job's failure queue, or shows as a missing run, and those alarm.
    for (const [name] of specs.filter(([, spec]) => !spec.schedule)) {
      const fn = props.functions[name];
      this.alarm(`${pascal(name)}Throttles`, {
        description: `Lambda throttled ${name}.`,
        runbook: runbooks.lambdaThrottling,
        metric: fn.metricThrottles({ statistic: 'Sum', period: fiveMinutes }),
        threshold: 1,
      });
    }
    this.dashboard(props);
  }

  private alarm(id: string, spec: AlarmSpec): void {
    const alarm = new Alarm(this, id, {
      alarmDescription: `${spec.description} Runbook: ${OPERATIONS_DOC}#${spec.runbook}`,
      metric: spec.metric,
      threshold: spec.threshold,
      evaluationPeriods: spec.evaluationPeriods ?? 1,
      comparisonOperator: spec.comparison ?? ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // No data mostly means nothing happened: no failures, no messages.
      treatMissingData: spec.missing ?? TreatMissingData.NOT_BREACHING,
    });
    if (this.topic) {
      alarm.addAlarmAction(new SnsAction(this.topic));
      alarm.addOkAction(new SnsAction(this.topic));
    }
    this.alarms.push(alarm);
  }

  private dashboard(props: ObservabilityProps): void {
    const app = (name: string, statistic = 'Sum') => appMetric(props.stage, name, statistic);
    const fns = Object.entries(props.functions) as [FunctionName, LambdaFunction][];
    const graph = (title: string, left: IMetric[], right: IMetric[] = []) => new GraphWidget({ title, left, right, width: 12, height: 6 });
    const perFunction = (metric: (fn: LambdaFunction) => Metric) => fns.map(([name, fn]) => metric(fn).with({ label: name }));
    const queueMetrics = (queue: Queue, label: string) => [
      queue.metricApproximateNumberOfMessagesVisible({ label: `${label} visible`, statistic: 'Maximum' }),
      queue.metricApproximateNumberOfMessagesNotVisible({ label: `${label} in flight`, statistic: 'Maximum' }),
    ];

    new Dashboard(this, 'Dashboard', {
      dashboardName: `meterline-${props.stage.name}`,
      defaultInterval: Duration.hours(3),
      widgets: [
        [new AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24, height: 6 })],
        [
          graph(
            'Ingest: events',
            ['EventsAccepted', 'EventsRejected', 'EventsDuplicate'].map((m) => app(m)),
          ),
          graph(
            'Aggregation: events',
            ['EventsCounted', 'EventsFailed', 'EventsQuarantined'].map((m) => app(m)),
            [app('WriteUnits')],
          ),
        ],
        [
          graph(
            'Aggregation lag (ms)',
            ['p50', 'p99', 'Maximum'].map((s) => app('AggregationLag', s).with({ label: `lag ${s}` })),
          ),
          graph(
            'Usage queue',
            [...queueMetrics(props.usageQueue, 'queue'), ...queueMetrics(props.usageDeadLetterQueue, 'DLQ')],
            [props.usageQueue.metricApproximateAgeOfOldestMessage({ label: 'oldest message age (s)', statistic: 'Maximum' })],
          ),
        ],
        [
          graph(
            'API requests',
            [
              props.apiStage.metricCount({ label: 'requests' }),
              props.apiStage.metricClientError({ label: '4xx' }),
              props.apiStage.metricServerError({ label: '5xx' }),
            ],
            [props.apiStage.metricLatency({ statistic: 'p99', label: 'latency p99 (ms)' })],
          ),
          graph(
            'Billing jobs',
            [
              ...['ReportFailures', 'InvoicingFailures', 'ReconciliationMismatches', 'WebhookFailures'].map((m) => app(m)),
              ...queueMetrics(props.scheduleDeadLetterQueue, 'schedule DLQ'),
              ...queueMetrics(props.reportDeadLetterQueue, 'report DLQ'),
              ...props.jobs.map((job) =>
                job.failureQueue.metricApproximateNumberOfMessagesVisible({ label: `${job.name} failures`, statistic: 'Maximum' }),
              ),
            ],
            // The Stripe report's progress: slices queued by the planner, meter events the workers sent.
            [app('ReportSlicesSent'), app('MeterEventsSent')],
          ),
        ],
        [
          graph(
            'Function errors',
            perFunction((fn) => fn.metricErrors({ statistic: 'Sum' })),
          ),
          graph(
            'Function duration p99 (ms)',
            perFunction((fn) => fn.metricDuration({ statistic: 'p99' })),
          ),
        ],
        [
          graph(
            'Function throttles',
            perFunction((fn) => fn.metricThrottles({ statistic: 'Sum' })),
          ),
          graph(
            'Scheduled runs',
            props.jobs.map((job) => job.fn.metricInvocations({ statistic: 'Sum', label: job.name })),
          ),
        ],
        [
          graph(
            'Tenant webhook deliveries',
            [...queueMetrics(props.webhookQueue, 'queue'), ...queueMetrics(props.webhookDeadLetterQueue, 'DLQ')],
            [props.webhookQueue.metricApproximateAgeOfOldestMessage({ label: 'oldest message age (s)', statistic: 'Maximum' })],
          ),
        ],
      ],
    });
  }
}
