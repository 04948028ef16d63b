import { Duration } from 'aws-cdk-lib';
import type { HttpStage } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { type FunctionName, type FunctionSpec, functionSpecs } from './catalog.js';
import { acknowledge } from './nag.js';
import type { StageConfig } from './stage.js';
import { pascal } from './names.js';

export interface ObservabilityProps {
  stage: StageConfig;
  functions: Record<FunctionName, NodejsFunction>;
  usageQueue: Queue;
  usageDeadLetterQueue: Queue;
  scheduleDeadLetterQueue: Queue;
  apiStage: HttpStage;
  /** Subscribed to the alarm topic when given (`-c alarmEmail=ops@example.com`). */
  alarmEmail?: string;
}

/** Aggregation is meant to keep up within seconds; five minutes behind means the consumer is stuck or starved. */
const maxMessageAge = Duration.minutes(5);

/** The application's own metrics (Powertools EMF: namespace Meterline, dimension service). */
function appMetric(metricName: string, statistic = 'Sum', period = Duration.minutes(1)): Metric {
  return new Metric({ namespace: 'Meterline', metricName, dimensionsMap: { service: 'meterline' }, statistic, period });
}

/** Alarms on what needs a person, and one dashboard for the pipeline from request to invoice. */
export class Observability extends Construct {
  readonly alarms: Alarm[] = [];
  readonly topic?: Topic;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    if (props.stage.alarmTopic) {
      this.topic = new Topic(this, 'AlarmTopic', { displayName: `Meterline ${props.stage.name} alarms`, enforceSSL: true });
      if (props.alarmEmail) this.topic.addSubscription(new EmailSubscription(props.alarmEmail));
      acknowledge(this.topic, {
        'AwsSolutions-SNS2':
          'Alarm notifications carry alarm names and states, no customer data; CloudWatch cannot publish to a topic under the AWS-managed SNS key.',
      });
    }

    const deadLetters = (queue: Queue) => queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(1) });
    this.alarm('UsageDlqDepth', 'Usage events reached the dead-letter queue; find the cause, then redrive (docs/operations.md).', deadLetters(props.usageDeadLetterQueue), 1);
    this.alarm('ScheduleDlqDepth', 'A scheduled job invocation failed after all retries; its input is in the schedule DLQ.', deadLetters(props.scheduleDeadLetterQueue), 1);
    this.alarm(
      'UsageQueueOldestMessageAge',
      `Usage events have waited more than ${maxMessageAge.toMinutes()} minutes to be aggregated.`,
      props.usageQueue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: Duration.minutes(1) }),
      maxMessageAge.toSeconds(),
      3,
    );
    this.alarm('ReportFailures', 'Usage could not be reported to Stripe.', appMetric('ReportFailures', 'Sum', Duration.minutes(5)), 1);
    this.alarm('ApiServerErrors', 'The API answered with 5xx errors.', props.apiStage.metricServerError({ statistic: 'Sum', period: Duration.minutes(5) }), 5);
    // The consumer and the scheduled jobs have no caller to see their errors.
    for (const [name, spec] of Object.entries(functionSpecs) as [FunctionName, FunctionSpec][]) {
      if (!spec.consumesUsageQueue && !spec.schedule) continue;
      const metric = props.functions[name].metricErrors({ statistic: 'Sum', period: Duration.minutes(5) });
      this.alarm(`${pascal(name)}Errors`, `The ${name} function failed.`, metric, 1);
    }
    this.dashboard(props);
  }

  private alarm(id: string, description: string, metric: IMetric, threshold: number, evaluationPeriods = 1): void {
    const alarm = new Alarm(this, id, {
      alarmDescription: description,
      metric,
      threshold,
      evaluationPeriods,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // No data means nothing happened: no failures, no messages.
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    if (this.topic) {
      alarm.addAlarmAction(new SnsAction(this.topic));
      alarm.addOkAction(new SnsAction(this.topic));
    }
    this.alarms.push(alarm);
  }

  private dashboard(props: ObservabilityProps): void {
    const fns = Object.entries(props.functions) as [FunctionName, NodejsFunction][];
    const graph = (title: string, left: IMetric[], right: IMetric[] = []) => new GraphWidget({ title, left, right, width: 12, height: 6 });
    const perFunction = (metric: (fn: NodejsFunction) => Metric) => fns.map(([name, fn]) => metric(fn).with({ label: name }));
    const queueMetrics = (queue: Queue, label: string) => [
      queue.metricApproximateNumberOfMessagesVisible({ label: `${label} visible`, statistic: 'Maximum' }),
      queue.metricApproximateNumberOfMessagesNotVisible({ label: `${label} in flight`, statistic: 'Maximum' }),
    ];

    new Dashboard(this, 'Dashboard', {
      dashboardName: `meterline-${props.stage.name}`,
      defaultInterval: Duration.hours(3),
      widgets: [
        [new AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24, height: 3 })],
        [
          graph('Ingest: events', ['EventsAccepted', 'EventsRejected', 'EventsDuplicate'].map((m) => appMetric(m))),
          graph('Aggregation: events', ['EventsCounted', 'EventsFailed'].map((m) => appMetric(m)), [appMetric('WriteUnits')]),
        ],
        [
          graph('Aggregation lag (ms)', ['p50', 'p99', 'Maximum'].map((s) => appMetric('AggregationLag', s).with({ label: `lag ${s}` }))),
          graph(
            'Usage queue',
            [...queueMetrics(props.usageQueue, 'queue'), ...queueMetrics(props.usageDeadLetterQueue, 'DLQ')],
            [props.usageQueue.metricApproximateAgeOfOldestMessage({ label: 'oldest message age (s)', statistic: 'Maximum' })],
          ),
        ],
        [
          graph(
            'API requests',
            [props.apiStage.metricCount({ label: 'requests' }), props.apiStage.metricClientError({ label: '4xx' }), props.apiStage.metricServerError({ label: '5xx' })],
            [props.apiStage.metricLatency({ statistic: 'p99', label: 'latency p99 (ms)' })],
          ),
          graph('Billing jobs', [appMetric('ReportFailures'), ...queueMetrics(props.scheduleDeadLetterQueue, 'schedule DLQ')]),
        ],
        [
          graph('Function errors', perFunction((fn) => fn.metricErrors({ statistic: 'Sum' }))),
          graph('Function duration p99 (ms)', perFunction((fn) => fn.metricDuration({ statistic: 'p99' }))),
        ],
        [graph('Function throttles', perFunction((fn) => fn.metricThrottles({ statistic: 'Sum' })))],
      ],
    });
  }
}
