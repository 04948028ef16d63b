import { Duration, Stack, Token } from 'aws-cdk-lib';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { ApplicationLogLevel, Function as LambdaFunction, LoggingFormat, SystemLogLevel } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { type TableName, tables } from '../shared/platform/dynamo/tables.js';
import { architecture, functionCode, runtime } from './bundling.js';
import {
  type Access,
  emailQueueSettings,
  type FunctionName,
  type FunctionSpec,
  functionSpecs,
  reportQueueSettings,
  sendsToEmailQueue,
  sendsToWebhookQueue,
  type TableGrant,
  tableGrant,
  usageQueueSettings,
  webhookQueueSettings,
} from './catalog.js';
import { acknowledge } from './nag.js';
import { pascal } from './names.js';
import { secretArnEnv } from './secrets.js';
import { consumerMaxConcurrency, type StageConfig } from './stage.js';

// The consumer's event source mapping scales to at most consumerMaxConcurrency batches: each message already carries
// up to 256 KiB of events and a batch of ten is folded into one write per counter, so ten concurrent batches absorb far
// more than the API's throttle admits; more would mostly make parallel batches collide on the same hot
// tenant × meter × hour counters (transaction conflicts, retried but wasted) and take account concurrency from the API.

// Transactions need no action of their own: each item in one is authorised by the action it performs.
// BatchWriteItem is deliberately absent (every write is one item), and Scan is granted only where a spec asks for it:
// every other access pattern is a key lookup or a query.
const readActions = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:ConditionCheckItem'];
const writeActions = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem'];

/** The actions that change items, which `partitions.writes` confines. */
const writeOnly = new Set(['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem']);

/** The DynamoDB actions a grant allows on the base table. */
export function dynamoActionsFor(grant: Access | TableGrant): string[] {
  const { access, deletes, scans } = tableGrant(grant);
  const actions = [
    ...(access === 'write' ? [] : readActions),
    ...(access === 'read' ? [] : writeActions),
    ...(deletes ? ['dynamodb:DeleteItem'] : []),
    ...(scans ? ['dynamodb:Scan'] : []),
  ];
  return [...new Set(actions)];
}

export interface FunctionsProps {
  stage: StageConfig;
  tables: Record<TableName, Table>;
  usageQueue: Queue;
  webhookQueue: Queue;
  reportQueue: Queue;
  emailQueue: Queue;
  /** The SES configuration set the email worker sends with. */
  emailConfigurationSet: string;
  secrets: Record<string, Secret>;
  eventBus: IEventBus;
}

/** Every function in the catalog, each with its own log group and a role holding exactly what its spec lists. */
export class Functions extends Construct {
  readonly byName: Record<FunctionName, LambdaFunction>;

  constructor(scope: Construct, id: string, props: FunctionsProps) {
    super(scope, id);
    const entries = (Object.entries(functionSpecs) as [FunctionName, FunctionSpec][]).map(
      ([name, spec]) => [name, this.create(name, spec, props)] as const,
    );
    this.byName = Object.fromEntries(entries) as Record<FunctionName, LambdaFunction>;
  }

  private create(name: FunctionName, spec: FunctionSpec, props: FunctionsProps): LambdaFunction {
    const id = pascal(name);
    const logGroup = new LogGroup(this, `${id}Logs`, {
      retention: props.stage.logRetention,
      removalPolicy: props.stage.dataRemovalPolicy,
    });
    // Our own role rather than the default one, which would carry the AWSLambdaBasicExecutionRole managed policy
    // (logs on every log group in the account).
    const role = new Role(this, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Meterline ${props.stage.name} ${name}`,
    });
    role.addToPolicy(new PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }));

    const fn = new LambdaFunction(this, id, {
      code: functionCode(spec.entry),
      handler: 'index.handler',
      runtime,
      architecture,
      memorySize: spec.memoryMb,
      timeout: Duration.seconds(spec.timeoutSeconds),
      description: `Meterline ${name} (${spec.entry})`,
      role,
      logGroup,
      loggingFormat: LoggingFormat.JSON,
      applicationLogLevelV2: ApplicationLogLevel.INFO,
      systemLogLevelV2: SystemLogLevel.WARN,
      environment: this.environment(spec, props),
      reservedConcurrentExecutions: props.stage.reservedConcurrency[name],
    });
    const pinned = `Pinned to ${runtime.name}, the Node version the code is developed and tested on (engines, node@22); runtime, esbuild target and toolchain move together.`;
    acknowledge(fn, {
      'AwsSolutions-L1': pinned,
      'Serverless-LambdaLatestVersion': pinned,
      'Serverless-LambdaTracing':
        'A request is followed through JSON logs and API access logs by requestId and tenantId, the pipeline by EMF metrics; a trace of one hop per function would add cost and cold-start work, not insight.',
      'Serverless-LambdaDLQ': spec.schedule
        ? 'Invoked asynchronously by Scheduler only; a failed run goes to its on-failure destination (infra/schedules.ts), which keeps the error beside the input, unlike a DLQ.'
        : 'Never invoked asynchronously (API Gateway, the function URL and the SQS event source wait for the answer), so a DLQ would never receive anything.',
      ...(spec.consumesUsageQueue || spec.consumesWebhookQueue || spec.consumesReportQueue || spec.consumesEmailQueue
        ? {
            'Serverless-LambdaEventSourceMappingDestination':
              'On-failure destinations are for stream sources; an SQS source redrives what keeps failing to its queue’s own dead-letter queue.',
          }
        : {}),
    });

    for (const [table, grant] of Object.entries(spec.tables) as [TableName, Access | TableGrant][]) {
      for (const statement of tableStatements(props.tables[table], table, tableGrant(grant))) role.addToPolicy(statement);
    }
    if (spec.sendsToUsageQueue) sendsTo(role, props.usageQueue);
    if (spec.consumesUsageQueue) {
      fn.addEventSource(
        new SqsEventSource(props.usageQueue, {
          // Only the messages whose events failed come back; the rest of the batch is deleted.
          reportBatchItemFailures: true,
          // Ten messages (the SQS receive maximum) of many events each, and a one-second window: batches
          // fill under load while a lone event is still counted within about a second.
          batchSize: usageQueueSettings.batchSize,
          maxBatchingWindow: Duration.seconds(usageQueueSettings.maxBatchingWindowSeconds),
          maxConcurrency: consumerMaxConcurrency,
        }),
      );
    }
    if (sendsToWebhookQueue(spec)) sendsTo(role, props.webhookQueue);
    if (spec.consumesWebhookQueue) {
      fn.addEventSource(
        new SqsEventSource(props.webhookQueue, {
          reportBatchItemFailures: true,
          batchSize: webhookQueueSettings.batchSize,
          maxBatchingWindow: Duration.seconds(webhookQueueSettings.maxBatchingWindowSeconds),
          maxConcurrency: webhookQueueSettings.maxConcurrency,
        }),
      );
    }
    if (spec.sendsToReportQueue) sendsTo(role, props.reportQueue);
    if (spec.consumesReportQueue) {
      fn.addEventSource(
        new SqsEventSource(props.reportQueue, {
          reportBatchItemFailures: true,
          batchSize: reportQueueSettings.batchSize,
          maxBatchingWindow: Duration.seconds(reportQueueSettings.maxBatchingWindowSeconds),
          // Each worker paces itself at its share of Stripe's meter event rate (shared/composition/stripe.ts).
          maxConcurrency: reportQueueSettings.maxConcurrency,
        }),
      );
    }
    if (sendsToEmailQueue(spec)) sendsTo(role, props.emailQueue);
    if (spec.consumesEmailQueue) {
      fn.addEventSource(
        new SqsEventSource(props.emailQueue, {
          reportBatchItemFailures: true,
          batchSize: emailQueueSettings.batchSize,
          maxBatchingWindow: Duration.seconds(emailQueueSettings.maxBatchingWindowSeconds),
          maxConcurrency: emailQueueSettings.maxConcurrency,
        }),
      );
      // Raw sends through the stack's configuration set, from any verified identity of the account (the From address
      // is the operator's setting); ses:SendRawEmail is the action SES v2's SendEmail with raw content is authorized as.
      role.addToPolicy(
        new PolicyStatement({
          actions: ['ses:SendEmail', 'ses:SendRawEmail'],
          resources: [
            Stack.of(this).formatArn({ service: 'ses', resource: 'identity', resourceName: '*' }),
            Stack.of(this).formatArn({ service: 'ses', resource: 'configuration-set', resourceName: props.emailConfigurationSet }),
          ],
        }),
      );
      const stack = Stack.of(this);
      // cdk-nag names the finding by the ARN as synthesized: pseudo parameters where the environment is not known.
      const shown = (value: string, pseudo: string) => (Token.isUnresolved(value) ? `<AWS::${pseudo}>` : value);
      const identities = `arn:${shown(stack.partition, 'Partition')}:ses:${shown(stack.region, 'Region')}:${shown(stack.account, 'AccountId')}:identity/*`;
      acknowledge(role, {
        [`AwsSolutions-IAM5[Resource::${identities}]`]:
          'The From address is a stack parameter naming an address or a domain verified in SES, so its identity ARN is not known at synthesis; SES itself refuses any identity the account has not verified, and the configuration set is named.',
      });
    }
    // GetSecretValue alone: CDK's grantRead adds DescribeSecret, which the code never calls.
    for (const secret of spec.secrets ?? [])
      role.addToPolicy(new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [props.secrets[secret]!.secretArn] }));
    if (spec.publishesEvents) props.eventBus.grantPutEventsTo(role);
    return fn;
  }

  private environment(spec: FunctionSpec, props: FunctionsProps): Record<string, string> {
    return {
      // Every table name, not only the granted ones: the shared composition root resolves the names of the
      // tables a store spans when it is built. Names are not secrets; the role decides what is reachable.
      ...Object.fromEntries(
        Object.entries(tables).map(([table, definition]) => [definition.env, props.tables[table as TableName].tableName]),
      ),
      ...(spec.sendsToUsageQueue ? { USAGE_QUEUE_URL: props.usageQueue.queueUrl } : {}),
      ...(sendsToWebhookQueue(spec) ? { WEBHOOK_QUEUE_URL: props.webhookQueue.queueUrl } : {}),
      ...(spec.sendsToReportQueue ? { REPORT_QUEUE_URL: props.reportQueue.queueUrl } : {}),
      ...(sendsToEmailQueue(spec) ? { EMAIL_QUEUE_URL: props.emailQueue.queueUrl } : {}),
      ...(spec.consumesEmailQueue ? { SES_CONFIGURATION_SET: props.emailConfigurationSet } : {}),
      ...(spec.publishesEvents ? { EVENT_BUS_NAME: props.eventBus.eventBusName } : {}),
      ...Object.fromEntries((spec.secrets ?? []).map((secret) => [secretArnEnv(secret), props.secrets[secret]!.secretArn])),
      STAGE: props.stage.name,
      POWERTOOLS_SERVICE_NAME: 'meterline',
      POWERTOOLS_METRICS_NAMESPACE: 'Meterline',
      // Matches the function's application log level, which Powertools otherwise warns differs.
      POWERTOOLS_LOG_LEVEL: 'INFO',
    };
  }
}

/** SendMessage alone (SendMessageBatch needs no more): CDK's grantSendMessages adds GetQueueAttributes and GetQueueUrl, which the code never calls, as it has the queue's URL. */
function sendsTo(role: Role, queue: Queue): void {
  role.addToPolicy(new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [queue.queueArn] }));
}

/**
 * The base table with the grant's actions (its writes apart when they reach fewer partitions), and queries on its index
 * where the function lists through it; each confined to the grant's partition keys when it names them.
 */
function tableStatements(table: Table, name: TableName, grant: TableGrant): PolicyStatement[] {
  const confined = (keys: string[] | undefined) =>
    keys ? { conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': keys } } } : {};
  const actions = dynamoActionsFor(grant);
  const writes = grant.partitions?.writes;
  const statements = writes
    ? [
        new PolicyStatement({
          actions: actions.filter((a) => !writeOnly.has(a)),
          resources: [table.tableArn],
          ...confined(grant.partitions?.table),
        }),
        new PolicyStatement({ actions: actions.filter((a) => writeOnly.has(a)), resources: [table.tableArn], ...confined(writes) }),
      ]
    : grant.partitions?.table.length === 0
      ? []
      : [new PolicyStatement({ actions, resources: [table.tableArn], ...confined(grant.partitions?.table) })];
  const readsIndex = tables[name].gsi1 && grant.access !== 'write' && (grant.index || grant.partitions?.gsi1);
  // An index answers only Query and Scan, and the code only queries it.
  if (readsIndex)
    statements.push(
      new PolicyStatement({
        actions: ['dynamodb:Query'],
        resources: [`${table.tableArn}/index/gsi1`],
        ...confined(grant.partitions?.gsi1),
      }),
    );
  return statements;
}
