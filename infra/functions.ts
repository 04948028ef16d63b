import { resolve } from 'node:path';
import { Duration } from 'aws-cdk-lib';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { ApplicationLogLevel, LoggingFormat, SystemLogLevel } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { type TableName, tables } from '../shared/platform/dynamo/tables.js';
import { architecture, nodejsBundling, runtime } from './bundling.js';
import { type Access, type FunctionName, type FunctionSpec, functionSpecs, usageQueueSettings } from './catalog.js';
import { acknowledge } from './nag.js';
import { secretArnEnv } from './secrets.js';
import type { StageConfig } from './stage.js';
import { pascal } from './names.js';

/**
 * Scaling cap of the consumer's event source mapping. Each message already carries up to 256 KiB of events
 * and a batch of ten is folded into one write per counter, so ten concurrent batches absorb far more than
 * the API's throttle admits; more would mostly make parallel batches collide on the same hot
 * tenant × meter × hour counters (transaction conflicts, retried but wasted) and take account concurrency
 * from the API functions.
 */
export const consumerMaxConcurrency = 10;

// Transactions need no action of their own: each item in one is authorised by the action it performs.
// Scan is deliberately absent; every access pattern is a key lookup or a query.
const dynamoActions: Record<Exclude<Access, 'readwrite'>, string[]> = {
  read: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:ConditionCheckItem'],
  write: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:ConditionCheckItem'],
};

export function dynamoActionsFor(access: Access): string[] {
  const kinds = access === 'readwrite' ? (['read', 'write'] as const) : [access];
  return [...new Set(kinds.flatMap((kind) => dynamoActions[kind]))];
}

const ROOT = resolve(import.meta.dirname, '..');

export interface FunctionsProps {
  stage: StageConfig;
  tables: Record<TableName, Table>;
  usageQueue: Queue;
  secrets: Record<string, Secret>;
  eventBus: IEventBus;
}

/** Every function in the catalog, each with its own log group and a role holding exactly what its spec lists. */
export class Functions extends Construct {
  readonly byName: Record<FunctionName, NodejsFunction>;

  constructor(scope: Construct, id: string, props: FunctionsProps) {
    super(scope, id);
    const entries = (Object.entries(functionSpecs) as [FunctionName, FunctionSpec][]).map(([name, spec]) => [name, this.create(name, spec, props)] as const);
    this.byName = Object.fromEntries(entries) as Record<FunctionName, NodejsFunction>;
  }

  private create(name: FunctionName, spec: FunctionSpec, props: FunctionsProps): NodejsFunction {
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

    const fn = new NodejsFunction(this, id, {
      entry: resolve(ROOT, spec.entry),
      handler: 'handler',
      projectRoot: ROOT,
      depsLockFilePath: resolve(ROOT, 'package-lock.json'),
      bundling: nodejsBundling,
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
    });
    acknowledge(fn, {
      'AwsSolutions-L1': `Pinned to ${runtime.name}, the Node version the code is developed and tested on (engines, node@22); runtime, esbuild target and toolchain move together.`,
    });

    for (const [table, access] of Object.entries(spec.tables) as [TableName, Access][]) {
      role.addToPolicy(new PolicyStatement({ actions: dynamoActionsFor(access), resources: tableResources(props.tables[table], table, access) }));
    }
    if (spec.sendsToUsageQueue) props.usageQueue.grantSendMessages(role);
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
    for (const secret of spec.secrets ?? []) props.secrets[secret]!.grantRead(role);
    if (spec.publishesAlerts) props.eventBus.grantPutEventsTo(role);
    return fn;
  }

  private environment(spec: FunctionSpec, props: FunctionsProps): Record<string, string> {
    return {
      // Every table name, not only the granted ones: the shared composition root resolves the names of the
      // tables a store spans when it is built. Names are not secrets; the role decides what is reachable.
      ...Object.fromEntries(Object.entries(tables).map(([table, definition]) => [definition.env, props.tables[table as TableName].tableName])),
      ...(spec.sendsToUsageQueue ? { USAGE_QUEUE_URL: props.usageQueue.queueUrl } : {}),
      ...(spec.publishesAlerts ? { EVENT_BUS_NAME: props.eventBus.eventBusName } : {}),
      ...Object.fromEntries((spec.secrets ?? []).map((secret) => [secretArnEnv(secret), props.secrets[secret]!.secretArn])),
      STAGE: props.stage.name,
      // Stack traces in logs point at the TypeScript source (the bundle ships its source map).
      NODE_OPTIONS: '--enable-source-maps',
      POWERTOOLS_SERVICE_NAME: 'meterline',
      POWERTOOLS_METRICS_NAMESPACE: 'Meterline',
      // Matches the function's application log level, which Powertools otherwise warns differs.
      POWERTOOLS_LOG_LEVEL: 'INFO',
    };
  }
}

/** The table, and its index only where the function reads: writes go through the base table. */
function tableResources(table: Table, name: TableName, access: Access): string[] {
  const readsIndex = tables[name].gsi1 && access !== 'write';
  return readsIndex ? [table.tableArn, `${table.tableArn}/index/gsi1`] : [table.tableArn];
}
