import type { CfnElement } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Access, type FunctionName, type FunctionSpec, functionSpecs, usageQueueSettings } from '../../infra/catalog.js';
import { consumerMaxConcurrency, dynamoActionsFor } from '../../infra/functions.js';
import { secretArnEnv } from '../../infra/secrets.js';
import { type TableName, tables } from '../../shared/platform/dynamo/tables.js';
import { type Synthesized, resources, synth } from './synth.js';

const specs = Object.entries(functionSpecs) as [FunctionName, FunctionSpec][];
const tableNames = Object.keys(tables) as TableName[];

let dev: Synthesized;
let prod: Synthesized;
beforeAll(() => {
  dev = synth('dev');
  prod = synth('prod');
});

const logicalId = (s: Synthesized, construct: IConstruct) => s.stack.getLogicalId(construct.node.defaultChild as CfnElement);
const getAtt = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
const asArray = <T>(x: T | T[]): T[] => (Array.isArray(x) ? x : [x]);

/** Every IAM statement in the stack, with the roles its policy is attached to. */
function statements(s: Synthesized) {
  return Object.values(resources(s.template, 'AWS::IAM::Policy')).flatMap((policy) =>
    (policy.Properties!.PolicyDocument.Statement as any[]).map((statement) => ({
      roles: (policy.Properties!.Roles as { Ref: string }[]).map((r) => r.Ref),
      actions: asArray<string>(statement.Action),
      resources: asArray<unknown>(statement.Resource),
    })),
  );
}

describe('usage queue', () => {
  it('redrives to a 14-day DLQ after the catalog maxReceiveCount', () => {
    const queue = prod.stack.usageQueue;
    prod.template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: { deadLetterTargetArn: getAtt(logicalId(prod, queue.deadLetterQueue)), maxReceiveCount: usageQueueSettings.maxReceiveCount },
    });
    expect(resources(prod.template, 'AWS::SQS::Queue')[logicalId(prod, queue.deadLetterQueue)]!.Properties!.MessageRetentionPeriod).toBe(14 * 24 * 3600);
  });

  it('keeps messages invisible for at least six consumer timeouts', () => {
    const consumerTimeout = Math.max(...specs.filter(([, s]) => s.consumesUsageQueue).map(([, s]) => s.timeoutSeconds));
    const visibility = resources(prod.template, 'AWS::SQS::Queue')[logicalId(prod, prod.stack.usageQueue.queue)]!.Properties!.VisibilityTimeout;
    expect(visibility).toBeGreaterThanOrEqual(6 * consumerTimeout);
  });

  it('encrypts every queue and refuses requests without TLS', () => {
    const queues = resources(prod.template, 'AWS::SQS::Queue');
    for (const queue of Object.values(queues)) expect(queue.Properties!.SqsManagedSseEnabled).toBe(true);
    const policies = Object.values(resources(prod.template, 'AWS::SQS::QueuePolicy'));
    const tlsOnly = policies.filter((p) =>
      (p.Properties!.PolicyDocument.Statement as any[]).some((s) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false'),
    );
    expect(tlsOnly.flatMap((p) => p.Properties!.Queues)).toHaveLength(Object.keys(queues).length);
  });

  it('feeds each consumer with batch failure reporting, the catalog batching and a concurrency cap', () => {
    const consumers = specs.filter(([, s]) => s.consumesUsageQueue);
    expect(consumers.length).toBeGreaterThan(0);
    prod.template.resourceCountIs('AWS::Lambda::EventSourceMapping', consumers.length);
    for (const [name] of consumers) {
      prod.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: { Ref: logicalId(prod, prod.stack.functions.byName[name]) },
        EventSourceArn: getAtt(logicalId(prod, prod.stack.usageQueue.queue)),
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        BatchSize: usageQueueSettings.batchSize,
        MaximumBatchingWindowInSeconds: usageQueueSettings.maxBatchingWindowSeconds,
        ScalingConfig: { MaximumConcurrency: consumerMaxConcurrency },
      });
    }
  });
});

describe('tables', () => {
  it('creates every table on demand, encrypted, with point-in-time recovery and its TTL', () => {
    for (const s of [dev, prod]) {
      s.template.resourceCountIs('AWS::DynamoDB::Table', tableNames.length);
      for (const name of tableNames) {
        const table = resources(s.template, 'AWS::DynamoDB::Table')[logicalId(s, s.stack.tables.byName[name])]!.Properties!;
        expect(table.BillingMode).toBe('PAY_PER_REQUEST');
        expect(table.SSESpecification).toEqual({ SSEEnabled: true });
        expect(table.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
        expect(table.TimeToLiveSpecification).toEqual(tables[name].ttl ? { AttributeName: 'expiresAt', Enabled: true } : undefined);
        expect(table.GlobalSecondaryIndexes?.map((i: { IndexName: string }) => i.IndexName)).toEqual(tables[name].gsi1 ? ['gsi1'] : undefined);
      }
    }
  });

  it('protects and retains tables in prod only', () => {
    for (const table of Object.values(resources(prod.template, 'AWS::DynamoDB::Table'))) {
      expect(table.Properties!.DeletionProtectionEnabled).toBe(true);
      expect(table.DeletionPolicy).toBe('Retain');
    }
    for (const table of Object.values(resources(dev.template, 'AWS::DynamoDB::Table'))) {
      expect(table.Properties!.DeletionProtectionEnabled).toBe(false);
      expect(table.DeletionPolicy).toBe('Delete');
    }
  });
});

describe('functions', () => {
  it('deploys every catalog function, and nothing else, on nodejs22.x ARM64 with JSON logs', () => {
    prod.template.resourceCountIs('AWS::Lambda::Function', specs.length);
    for (const [name, spec] of specs) {
      const fn = resources(prod.template, 'AWS::Lambda::Function')[logicalId(prod, prod.stack.functions.byName[name])]!.Properties!;
      expect(fn).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        MemorySize: spec.memoryMb,
        Timeout: spec.timeoutSeconds,
        LoggingConfig: { LogFormat: 'JSON' },
      });
      expect(fn.Environment.Variables).toMatchObject({ NODE_OPTIONS: '--enable-source-maps', POWERTOOLS_SERVICE_NAME: 'meterline', POWERTOOLS_METRICS_NAMESPACE: 'Meterline' });
      for (const table of tableNames) expect(fn.Environment.Variables[tables[table].env]).toEqual({ Ref: logicalId(prod, prod.stack.tables.byName[table]) });
    }
  });

  it('gives each function its own role', () => {
    const roles = specs.map(([name]) => prod.stack.functions.byName[name].role!.roleArn);
    expect(new Set(roles.map((arn) => JSON.stringify(prod.stack.resolve(arn)))).size).toBe(specs.length);
  });

  it('grants no wildcard action anywhere and no DynamoDB action on a wildcard resource', () => {
    for (const statement of statements(prod)) {
      for (const action of statement.actions) expect(action).not.toMatch(/\*/);
      if (statement.actions.some((a) => a.startsWith('dynamodb:'))) expect(statement.resources).not.toContain('*');
    }
  });

  it('grants each function exactly the table access its spec lists', () => {
    for (const [name, spec] of specs) {
      const role = logicalId(prod, prod.stack.functions.byName[name].role!);
      const own = statements(prod).filter((s) => s.roles.includes(role));
      for (const table of tableNames) {
        const arn = getAtt(logicalId(prod, prod.stack.tables.byName[table]));
        const granted = own
          .filter((s) => s.resources.some((r) => JSON.stringify(r).includes(JSON.stringify(arn))))
          .flatMap((s) => s.actions.filter((a) => a.startsWith('dynamodb:')));
        const access: Access | undefined = spec.tables[table];
        expect(new Set(granted), `${name} on ${table}`).toEqual(new Set(access ? dynamoActionsFor(access) : []));
      }
      const actions = own.flatMap((s) => s.actions);
      expect(actions.includes('sqs:SendMessage'), `${name} sends`).toBe(Boolean(spec.sendsToUsageQueue));
      expect(actions.includes('sqs:ReceiveMessage'), `${name} consumes`).toBe(Boolean(spec.consumesUsageQueue));
      expect(actions.includes('secretsmanager:GetSecretValue'), `${name} reads secrets`).toBe(Boolean(spec.secrets?.length));
      expect(actions.includes('events:PutEvents'), `${name} publishes`).toBe(Boolean(spec.publishesAlerts));
    }
  });

  it('passes secrets by ARN, never by value', () => {
    for (const [name, spec] of specs) {
      const env = resources(prod.template, 'AWS::Lambda::Function')[logicalId(prod, prod.stack.functions.byName[name])]!.Properties!.Environment.Variables;
      for (const secret of spec.secrets ?? []) expect(env[secretArnEnv(secret)]).toEqual({ Ref: expect.any(String) });
    }
    prod.template.hasResourceProperties('AWS::SecretsManager::Secret', { Name: 'meterline/prod/stripe' });
  });

  it('serves functionUrl functions on a function URL that they authenticate themselves', () => {
    const urls = specs.filter(([, s]) => s.functionUrl);
    prod.template.resourceCountIs('AWS::Lambda::Url', urls.length);
    for (const [name] of urls) {
      prod.template.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'NONE', TargetFunctionArn: getAtt(logicalId(prod, prod.stack.functions.byName[name])) });
    }
  });
});

describe('HTTP API', () => {
  it('routes every catalog route through the API-key authorizer', () => {
    const routes = specs.flatMap(([, s]) => s.routes ?? []);
    prod.template.resourceCountIs('AWS::ApiGatewayV2::Route', routes.length);
    for (const route of routes) {
      prod.template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: route, AuthorizationType: 'CUSTOM', AuthorizerId: Match.anyValue() });
    }
  });

  it('uses a simple-response Lambda authorizer on the Authorization header, cached five minutes', () => {
    prod.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'REQUEST',
      AuthorizerPayloadFormatVersion: '2.0',
      EnableSimpleResponses: true,
      IdentitySource: ['$request.header.Authorization'],
      AuthorizerResultTtlInSeconds: 300,
    });
  });

  it('throttles the default stage and writes access logs', () => {
    prod.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      DefaultRouteSettings: { ThrottlingRateLimit: Match.anyValue(), ThrottlingBurstLimit: Match.anyValue() },
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('requestId.*tenantId') },
    });
  });
});

describe('schedules', () => {
  it('invokes every scheduled function with the ScheduledInvocation input, retries and a DLQ', () => {
    const scheduled = specs.filter(([, s]) => s.schedule);
    prod.template.resourceCountIs('AWS::Scheduler::Schedule', scheduled.length);
    for (const [name, spec] of scheduled) {
      const schedule = Object.values(resources(prod.template, 'AWS::Scheduler::Schedule')).find(
        (s) => JSON.stringify(s.Properties!.Target.Arn) === JSON.stringify(getAtt(logicalId(prod, prod.stack.functions.byName[name]))),
      )!.Properties!;
      expect(schedule.ScheduleExpression).toBe(spec.schedule);
      expect(JSON.parse(schedule.Target.Input)).toEqual({ source: 'meterline.schedule', schedule: name, time: '<aws.scheduler.scheduled-time>' });
      expect(schedule.Target.RetryPolicy).toEqual({ MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 });
      expect(schedule.Target.DeadLetterConfig?.Arn).toBeDefined();
    }
  });
});

describe('observability', () => {
  const metricAlarm = (s: Synthesized, metricName: string, namespace: string) =>
    Object.values(resources(s.template, 'AWS::CloudWatch::Alarm')).filter((a) => a.Properties!.MetricName === metricName && a.Properties!.Namespace === namespace);

  it('alarms on DLQ depth, oldest message age, consumer errors and report failures', () => {
    const deadLetterQueue = { 'Fn::GetAtt': [logicalId(prod, prod.stack.usageQueue.deadLetterQueue), 'QueueName'] };
    expect(metricAlarm(prod, 'ApproximateNumberOfMessagesVisible', 'AWS/SQS').map((a) => a.Properties!.Dimensions[0].Value)).toContainEqual(deadLetterQueue);
    expect(metricAlarm(prod, 'ApproximateAgeOfOldestMessage', 'AWS/SQS')).toHaveLength(1);
    const consumerErrors = metricAlarm(prod, 'Errors', 'AWS/Lambda').map((a) => a.Properties!.Dimensions[0].Value);
    for (const [name] of specs.filter(([, s]) => s.consumesUsageQueue)) expect(consumerErrors).toContainEqual({ Ref: logicalId(prod, prod.stack.functions.byName[name]) });
    expect(metricAlarm(prod, 'ReportFailures', 'Meterline')[0]?.Properties!.Dimensions).toEqual([{ Name: 'service', Value: 'meterline' }]);
  });

  it('notifies an SNS topic in prod and stays quiet in dev', () => {
    for (const alarm of Object.values(resources(prod.template, 'AWS::CloudWatch::Alarm'))) expect(alarm.Properties!.AlarmActions).toHaveLength(1);
    for (const alarm of Object.values(resources(dev.template, 'AWS::CloudWatch::Alarm'))) expect(alarm.Properties!.AlarmActions).toBeUndefined();
    dev.template.resourceCountIs('AWS::SNS::Topic', 0);
  });

  it('has a dashboard with the custom metrics', () => {
    const body = JSON.stringify(resources(prod.template, 'AWS::CloudWatch::Dashboard'));
    for (const metric of ['EventsAccepted', 'EventsRejected', 'EventsDuplicate', 'AggregationLag', 'ReportFailures']) expect(body).toContain(metric);
  });
});

describe('dashboard hosting', () => {
  it('serves a private, TLS-only bucket through CloudFront with origin access control', () => {
    prod.template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      LoggingConfiguration: Match.anyValue(),
    });
    prod.template.resourceCountIs('AWS::CloudFront::OriginAccessControl', 1);
    prod.template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({ DefaultCacheBehavior: Match.objectLike({ ViewerProtocolPolicy: 'redirect-to-https' }), Logging: Match.anyValue() }),
    });
  });
});
