import { CfnOutput, Duration, NestedStack, Stack, type StackProps } from 'aws-cdk-lib';
import { EventBus, Rule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { FunctionUrlAuthType } from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { tables } from '../shared/platform/dynamo/tables.js';
import { alarmSubscriber } from './alarm-email.js';
import { Api } from './api.js';
import { type FunctionName, type FunctionSpec, functionSpecs, reportQueueSettings, webhookQueueSettings } from './catalog.js';
import { apiCors } from './cors.js';
import { Email } from './email.js';
import { Evidence } from './evidence.js';
import { Functions } from './functions.js';
import { DashboardHosting } from './hosting.js';
import { acknowledge } from './nag.js';
import { pascal } from './names.js';
import { Observability } from './observability.js';
import { Schedules } from './schedules.js';
import { Secrets } from './secrets.js';
import type { StageConfig } from './stage.js';
import { Tables } from './tables.js';
import { UsageExport } from './usage-export.js';
import { secureQueue, UsageQueue } from './usage-queue.js';
import { WorkerQueue } from './worker-queue.js';

export interface MeterlineStackProps extends StackProps {
  stage: StageConfig;
  /** The alarm subscriber from context; without one, a stage with an alarm topic takes it as a stack parameter. */
  alarmEmail?: string;
}

/** The whole service, driven by `infra/catalog.ts` and `shared/platform/dynamo/tables.ts`: new entries there deploy without changes here. */
export class MeterlineStack extends Stack {
  readonly tables: Tables;
  readonly usageQueue: UsageQueue;
  readonly webhookQueue: WorkerQueue;
  readonly reportQueue: WorkerQueue;
  readonly email: Email;
  readonly functions: Functions;
  readonly api: Api;
  readonly monitoring: NestedStack;
  readonly observability: Observability;
  readonly schedules: Schedules;
  readonly evidence: Evidence;
  readonly usageExport: UsageExport;
  readonly hosting: DashboardHosting;

  constructor(scope: Construct, id: string, props: MeterlineStackProps) {
    super(scope, id, props);
    const { stage } = props;
    const specs = Object.entries(functionSpecs) as [FunctionName, FunctionSpec][];

    this.tables = new Tables(this, 'Tables', stage);
    const consumerTimeout = Math.max(...specs.filter(([, spec]) => spec.consumesUsageQueue).map(([, spec]) => spec.timeoutSeconds));
    this.usageQueue = new UsageQueue(this, 'Usage', {
      consumerTimeout: Duration.seconds(consumerTimeout),
      removalPolicy: stage.dataRemovalPolicy,
    });
    const webhookTimeout = Math.max(...specs.filter(([, spec]) => spec.consumesWebhookQueue).map(([, spec]) => spec.timeoutSeconds));
    this.webhookQueue = new WorkerQueue(this, 'Webhooks', {
      purpose: 'webhook delivery',
      consumerTimeout: Duration.seconds(webhookTimeout),
      settings: webhookQueueSettings,
      removalPolicy: stage.dataRemovalPolicy,
    });
    const reportTimeout = Math.max(...specs.filter(([, spec]) => spec.consumesReportQueue).map(([, spec]) => spec.timeoutSeconds));
    this.reportQueue = new WorkerQueue(this, 'Reports', {
      purpose: 'Stripe report',
      consumerTimeout: Duration.seconds(reportTimeout),
      settings: reportQueueSettings,
      removalPolicy: stage.dataRemovalPolicy,
    });
    const secrets = new Secrets(this, 'Secrets', stage);
    // Every domain event (alerts, quotas, spend, invoices), for operators' own rules.
    const eventBus = new EventBus(this, 'EventBus', { eventBusName: `meterline-${stage.name}` });
    // The example wiring: quota, spend and invoice status events into a queue operators read or subscribe to.
    const notificationEvents = secureQueue(this, 'NotificationEventsQueue', { retentionPeriod: Duration.days(14) });
    acknowledge(notificationEvents, {
      'AwsSolutions-SQS3':
        'An example target that operators read by hand; nothing consumes it automatically, so no failed processing needs a dead-letter queue.',
      'Serverless-SQSRedrivePolicy':
        'An example target that operators read by hand; nothing consumes it automatically, so nothing is redriven.',
    });
    const notificationRule = new Rule(this, 'NotificationEventsRule', {
      eventBus,
      description: 'Example: Meterline quota, spend and invoice status events to a queue',
      eventPattern: { source: ['meterline'], detailType: ['quota.exceeded', 'spend.threshold_crossed', 'invoice.status_changed'] },
      targets: [new SqsQueue(notificationEvents)],
    });
    acknowledge(notificationRule, {
      'Serverless-EventBusDLQ':
        'The example target is a queue in this stack with SQS-managed encryption; delivery to it fails only if the queue is deleted.',
    });

    const emailTimeout = Math.max(...specs.filter(([, spec]) => spec.consumesEmailQueue).map(([, spec]) => spec.timeoutSeconds));
    this.email = new Email(this, 'Email', {
      stageName: stage.name,
      eventBus,
      consumerTimeout: Duration.seconds(emailTimeout),
      removalPolicy: stage.dataRemovalPolicy,
    });

    this.functions = new Functions(this, 'Functions', {
      stage,
      tables: this.tables.byName,
      usageQueue: this.usageQueue.queue,
      webhookQueue: this.webhookQueue.queue,
      reportQueue: this.reportQueue.queue,
      emailQueue: this.email.queue.queue,
      emailConfigurationSet: this.email.configurationSetName,
      secrets: secrets.byName,
      eventBus,
    });
    const functions = this.functions.byName;
    // Any origin may call the API from a browser: every call carries its key or session token in the Authorization
    // header (no cookies), so CORS guards nothing here, while naming the dashboard's origin would make the API and the
    // distribution (whose CSP names the API) depend on each other.
    this.api = new Api(this, 'Api', { stage, functions, allowedOrigins: [...apiCors.allowOrigins] });
    this.hosting = new DashboardHosting(this, 'Dashboard', { stage, apiUrl: this.api.url });
    const hosting = this.hosting;
    // Where sign-in links point: a stage variable, since the functions' environment would close a dependency cycle.
    this.api.stage.addStageVariable('dashboardUrl', hosting.origin);
    this.schedules = new Schedules(this, 'Schedules', { stage, functions });
    const schedules = this.schedules;
    this.evidence = new Evidence(this, 'Evidence', {
      stage,
      ledger: this.tables.byName.events,
      group: schedules.group,
      logBucket: hosting.logBucket,
    });
    this.usageExport = new UsageExport(this, 'UsageExport', { stage, logBucket: hosting.logBucket });
    for (const [name, spec] of specs) if (spec.writesExport) this.usageExport.grantWriter(functions[name]);
    for (const [name, spec] of specs) if (spec.readsExport) this.usageExport.grantReader(functions[name]);
    // Alarms and the dashboard in a nested stack of their own: they grow with every function, table and queue, and
    // the stack's own resources stay well inside CloudFormation's 500 per stack.
    this.monitoring = new NestedStack(this, 'Monitoring', { description: `Meterline ${stage.name} alarms and dashboard` });
    this.observability = new Observability(this.monitoring, 'Observability', {
      stage,
      functions,
      tables: this.tables.byName,
      usageQueue: this.usageQueue.queue,
      usageDeadLetterQueue: this.usageQueue.deadLetterQueue,
      reportDeadLetterQueue: this.reportQueue.deadLetterQueue,
      webhookQueue: this.webhookQueue.queue,
      webhookDeadLetterQueue: this.webhookQueue.deadLetterQueue,
      scheduleDeadLetterQueue: schedules.deadLetterQueue,
      ledgerExportFailureQueue: this.evidence.failureQueue,
      ledgerExportWorkflow: this.evidence.workflow,
      jobs: schedules.jobs,
      apiStage: this.api.stage,
      alarmEmail: stage.alarmTopic ? alarmSubscriber(this, stage.name, props.alarmEmail) : undefined,
    });

    const urls: Partial<Record<FunctionName, string>> = {};
    for (const [name, spec] of specs) {
      if (!spec.functionUrl) continue;
      // No IAM auth: the callers (Stripe, a mail recipient's browser) cannot sign AWS requests. The function
      // authenticates every request itself, by the webhook's or the link's signature, before acting on it.
      const url = functions[name].addFunctionUrl({ authType: FunctionUrlAuthType.NONE });
      urls[name] = url.url;
      new CfnOutput(this, `${pascal(name)}Url`, { value: url.url, description: `Function URL of ${name}` });
    }
    // The email worker's settings that name other resources: links point at the links function and the dashboard
    // (neither depends on the worker, so no cycle).
    for (const [name, spec] of specs) {
      if (!spec.consumesEmailQueue) continue;
      functions[name]
        .addEnvironment('EMAIL_FROM', this.email.from)
        .addEnvironment('OPERATOR_EMAILS', this.email.operators)
        .addEnvironment('EMAIL_LINKS_URL', urls['email-links']!)
        .addEnvironment('DASHBOARD_URL', hosting.origin);
    }

    new CfnOutput(this, 'ApiUrl', { value: this.api.url });
    for (const [name, table] of Object.entries(this.tables.byName)) {
      new CfnOutput(this, `${pascal(name)}TableName`, {
        value: table.tableName,
        description: `${tables[name as keyof typeof tables].env}`,
      });
    }
    new CfnOutput(this, 'UsageQueueUrl', { value: this.usageQueue.queue.queueUrl });
    new CfnOutput(this, 'UsageDeadLetterQueueUrl', { value: this.usageQueue.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'UsageQueueArn', { value: this.usageQueue.queue.queueArn });
    new CfnOutput(this, 'UsageDeadLetterQueueArn', { value: this.usageQueue.deadLetterQueue.queueArn });
    new CfnOutput(this, 'WebhookQueueUrl', { value: this.webhookQueue.queue.queueUrl });
    new CfnOutput(this, 'WebhookDeadLetterQueueUrl', { value: this.webhookQueue.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'ReportQueueUrl', { value: this.reportQueue.queue.queueUrl });
    new CfnOutput(this, 'ReportDeadLetterQueueUrl', { value: this.reportQueue.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'EmailQueueUrl', { value: this.email.queue.queue.queueUrl });
    new CfnOutput(this, 'EmailDeadLetterQueueUrl', { value: this.email.queue.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'EmailConfigurationSetName', { value: this.email.configurationSetName });
    new CfnOutput(this, 'NotificationEventsQueueUrl', { value: notificationEvents.queueUrl });
    new CfnOutput(this, 'ScheduleDeadLetterQueueUrl', { value: schedules.deadLetterQueue.queueUrl });
    for (const job of schedules.jobs) {
      new CfnOutput(this, `${pascal(job.name)}FailureQueueUrl`, {
        value: job.failureQueue.queueUrl,
        description: `Failed ${job.name} runs`,
      });
    }
    new CfnOutput(this, 'LedgerExportBucketName', { value: this.evidence.bucket.bucketName });
    new CfnOutput(this, 'UsageExportBucketName', { value: this.usageExport.bucket.bucketName });
    new CfnOutput(this, 'UsageQueryWorkGroup', { value: this.usageExport.workGroup.ref, description: 'Athena workgroup' });
    new CfnOutput(this, 'UsageQueryDatabase', { value: this.usageExport.databaseName, description: 'Glue database' });
    new CfnOutput(this, 'LedgerExportFailureQueueUrl', { value: this.evidence.failureQueue.queueUrl });
    new CfnOutput(this, 'LedgerExportWorkflowArn', { value: this.evidence.workflow.stateMachineArn });
    for (const [name, secret] of Object.entries(secrets.byName)) {
      new CfnOutput(this, `${pascal(name)}SecretName`, { value: secret.secretName });
    }
    new CfnOutput(this, 'EventBusName', { value: eventBus.eventBusName });
    new CfnOutput(this, 'DashboardBucketName', { value: hosting.bucket.bucketName });
    new CfnOutput(this, 'DashboardUrl', { value: hosting.origin });
    new CfnOutput(this, 'DashboardDistributionId', { value: hosting.distribution.distributionId });
    new CfnOutput(this, 'AccessLogBucketName', { value: hosting.logBucket.bucketName });
    if (this.observability.topic) new CfnOutput(this, 'AlarmTopicArn', { value: this.observability.topic.topicArn });
  }
}
