import { readFileSync } from 'node:fs';
import type { CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createAuthorizer } from '../../functions/authorizer/authorizer.js';
import {
  emailQueueSettings,
  type FunctionName,
  type FunctionSpec,
  functionSpecs,
  reportQueueSettings,
  sendsToWebhookQueue,
  tableGrant,
  usageQueueSettings,
  webhookQueueSettings,
} from '../../infra/catalog.js';
import { ledgerExportSchedule } from '../../infra/evidence.js';
import { dynamoActionsFor } from '../../infra/functions.js';
import { jobRetryAttempts } from '../../infra/schedules.js';
import { secretArnEnv } from '../../infra/secrets.js';
import { consumerMaxConcurrency, stageConfig } from '../../infra/stage.js';
import { type TableName, tables } from '../../shared/platform/dynamo/tables.js';
import { generateApiKey } from '../../shared/tenancy/api-keys.js';
import { bucketOf } from '../../shared/tenancy/rate-limits.js';
import { alarmEmail, buildApp, resources, type Synthesized, synth } from './synth.js';

const specs = Object.entries(functionSpecs) as [FunctionName, FunctionSpec][];
const tableNames = Object.keys(tables) as TableName[];

let dev: Synthesized;
let prod: Synthesized;
// Two whole stacks through cdk-nag: seconds alone, minutes on a busy machine.
beforeAll(() => {
  dev = synth('dev');
  prod = synth('prod');
}, 600_000);

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
      condition: statement.Condition as Record<string, Record<string, unknown>> | undefined,
    })),
  );
}

/**
 * A value of the monitoring nested stack with each reference to one of its parameters replaced by what the parent
 * passes for it, so that alarms and the dashboard compare with the parent's logical ids.
 */
function fromParent<T>(s: Synthesized, value: T): T {
  const nested = resources(s.template, 'AWS::CloudFormation::Stack')[s.stack.getLogicalId(s.stack.monitoring.nestedStackResource!)];
  const passed = nested!.Properties!.Parameters as Record<string, unknown>;
  return JSON.parse(JSON.stringify(value), (_, v) => (v && typeof v.Ref === 'string' && v.Ref in passed ? passed[v.Ref] : v));
}

/** Every alarm, as the parent's references. */
function alarms(s: Synthesized) {
  return Object.values(fromParent(s, resources(s.monitoring, 'AWS::CloudWatch::Alarm')));
}

/** Alarms on one metric (any metric when absent) of a namespace. */
function alarmsOn(s: Synthesized, metricName: string | undefined, namespace: string) {
  return alarms(s).filter(
    (a) => (metricName === undefined || a.Properties!.MetricName === metricName) && a.Properties!.Namespace === namespace,
  );
}

describe('usage queue', () => {
  it('redrives to a 14-day DLQ after the catalog maxReceiveCount', () => {
    for (const [queue, settings] of [
      [prod.stack.usageQueue, usageQueueSettings],
      [prod.stack.reportQueue, reportQueueSettings],
    ] as const) {
      prod.template.hasResourceProperties('AWS::SQS::Queue', {
        RedrivePolicy: {
          deadLetterTargetArn: getAtt(logicalId(prod, queue.deadLetterQueue)),
          maxReceiveCount: settings.maxReceiveCount,
        },
      });
      expect(resources(prod.template, 'AWS::SQS::Queue')[logicalId(prod, queue.deadLetterQueue)]!.Properties!.MessageRetentionPeriod).toBe(
        14 * 24 * 3600,
      );
    }
  });

  it('keeps messages invisible for at least six consumer timeouts', () => {
    for (const [queue, consumes] of [
      [prod.stack.usageQueue.queue, (s: FunctionSpec) => s.consumesUsageQueue],
      [prod.stack.reportQueue.queue, (s: FunctionSpec) => s.consumesReportQueue],
    ] as const) {
      const consumerTimeout = Math.max(...specs.filter(([, s]) => consumes(s)).map(([, s]) => s.timeoutSeconds));
      const visibility = resources(prod.template, 'AWS::SQS::Queue')[logicalId(prod, queue)]!.Properties!.VisibilityTimeout;
      expect(visibility).toBeGreaterThanOrEqual(6 * consumerTimeout);
    }
  });

  it('keeps the usage, webhook and report queues and their DLQs in prod only', () => {
    const queues = (s: Synthesized) =>
      [s.stack.usageQueue, s.stack.webhookQueue, s.stack.reportQueue].flatMap((q) => [q.queue, q.deadLetterQueue]);
    for (const queue of queues(prod)) {
      expect(resources(prod.template, 'AWS::SQS::Queue')[logicalId(prod, queue)]!.DeletionPolicy).toBe('Retain');
    }
    for (const queue of queues(dev)) {
      expect(resources(dev.template, 'AWS::SQS::Queue')[logicalId(dev, queue)]!.DeletionPolicy).toBe('Delete');
    }
  });

  it('encrypts every queue and refuses requests without TLS', () => {
    const queues = resources(prod.template, 'AWS::SQS::Queue');
    for (const queue of Object.values(queues)) expect(queue.Properties!.SqsManagedSseEnabled).toBe(true);
    const policies = Object.values(resources(prod.template, 'AWS::SQS::QueuePolicy'));
    const tlsOnly = policies.filter((p) =>
      (p.Properties!.PolicyDocument.Statement as any[]).some(
        (s) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false',
      ),
    );
    expect(tlsOnly.flatMap((p) => p.Properties!.Queues)).toHaveLength(Object.keys(queues).length);
  });

  it('feeds each consumer with batch failure reporting, the catalog batching and a concurrency cap', () => {
    const consumers = specs.filter(([, s]) => s.consumesUsageQueue);
    const deliverers = specs.filter(([, s]) => s.consumesWebhookQueue);
    const reporters = specs.filter(([, s]) => s.consumesReportQueue);
    const mailers = specs.filter(([, s]) => s.consumesEmailQueue);
    expect(consumers.length).toBeGreaterThan(0);
    expect(reporters.length).toBeGreaterThan(0);
    prod.template.resourceCountIs(
      'AWS::Lambda::EventSourceMapping',
      consumers.length + deliverers.length + reporters.length + mailers.length,
    );
    for (const [name] of mailers) {
      prod.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: { Ref: logicalId(prod, prod.stack.functions.byName[name]) },
        EventSourceArn: getAtt(logicalId(prod, prod.stack.email.queue.queue)),
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        BatchSize: emailQueueSettings.batchSize,
        ScalingConfig: { MaximumConcurrency: emailQueueSettings.maxConcurrency },
      });
    }
    for (const [name] of reporters) {
      prod.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: { Ref: logicalId(prod, prod.stack.functions.byName[name]) },
        EventSourceArn: getAtt(logicalId(prod, prod.stack.reportQueue.queue)),
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        BatchSize: reportQueueSettings.batchSize,
        // The workers' paces add up to the account's: no more of them may run at once.
        ScalingConfig: { MaximumConcurrency: reportQueueSettings.maxConcurrency },
      });
    }
    for (const [name] of deliverers) {
      prod.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: { Ref: logicalId(prod, prod.stack.functions.byName[name]) },
        EventSourceArn: getAtt(logicalId(prod, prod.stack.webhookQueue.queue)),
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        BatchSize: webhookQueueSettings.batchSize,
        // Tenants' endpoints may answer slowly: they hold at most this much of the account's concurrency.
        ScalingConfig: { MaximumConcurrency: webhookQueueSettings.maxConcurrency },
      });
    }
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
        expect(table.GlobalSecondaryIndexes?.map((i: { IndexName: string }) => i.IndexName)).toEqual(
          tables[name].gsi1 ? ['gsi1'] : undefined,
        );
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
    // Plus the one function CDK's BucketDeployment runs to upload the dashboard.
    prod.template.resourceCountIs('AWS::Lambda::Function', specs.length + 1);
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
      expect(fn.Environment.Variables).toMatchObject({
        POWERTOOLS_SERVICE_NAME: 'meterline',
        POWERTOOLS_METRICS_NAMESPACE: 'Meterline',
      });
      // --enable-source-maps would parse every chunk's map at init; the functions map their stacks when they print one.
      expect(fn.Environment.Variables.NODE_OPTIONS).toBeUndefined();
      for (const table of tableNames)
        expect(fn.Environment.Variables[tables[table].env]).toEqual({ Ref: logicalId(prod, prod.stack.tables.byName[table]) });
    }
  });

  it('gives each function its own role', () => {
    const roles = specs.map(([name]) => prod.stack.functions.byName[name].role!.roleArn);
    expect(new Set(roles.map((arn) => JSON.stringify(prod.stack.resolve(arn)))).size).toBe(specs.length);
  });

  it('grants no function a wildcard action and no DynamoDB action on a wildcard resource', () => {
    const roles = new Set(specs.map(([name]) => logicalId(prod, prod.stack.functions.byName[name].role!)));
    for (const statement of statements(prod).filter((s) => s.roles.some((r) => roles.has(r)))) {
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
        const onBase = own.filter((s) => s.resources.some((r) => JSON.stringify(r) === JSON.stringify(arn))).flatMap((s) => s.actions);
        const grant = spec.tables[table];
        // A grant may reach only the index (`partitions.table: []`).
        const onTable = grant && tableGrant(grant).partitions?.table.length !== 0;
        expect(new Set(onBase), `${name} on ${table}`).toEqual(new Set(onTable ? dynamoActionsFor(grant) : []));
      }
      const actions = own.flatMap((s) => s.actions);
      const usageQueue = logicalId(prod, prod.stack.usageQueue.queue);
      const sendsUsage = own.some((s) => s.actions.includes('sqs:SendMessage') && JSON.stringify(s.resources).includes(usageQueue));
      expect(sendsUsage, `${name} sends`).toBe(Boolean(spec.sendsToUsageQueue));
      const webhookQueue = logicalId(prod, prod.stack.webhookQueue.queue);
      const sendsDeliveries = own.some((s) => s.actions.includes('sqs:SendMessage') && JSON.stringify(s.resources).includes(webhookQueue));
      expect(sendsDeliveries, `${name} sends deliveries`).toBe(sendsToWebhookQueue(spec));
      const reportQueue = logicalId(prod, prod.stack.reportQueue.queue);
      const sendsSlices = own.some((s) => s.actions.includes('sqs:SendMessage') && JSON.stringify(s.resources).includes(reportQueue));
      expect(sendsSlices, `${name} sends report slices`).toBe(Boolean(spec.sendsToReportQueue));
      expect(actions.includes('sqs:ReceiveMessage'), `${name} consumes`).toBe(
        Boolean(spec.consumesUsageQueue || spec.consumesWebhookQueue || spec.consumesReportQueue || spec.consumesEmailQueue),
      );
      expect(actions.includes('secretsmanager:GetSecretValue'), `${name} reads secrets`).toBe(Boolean(spec.secrets?.length));
      expect(actions.includes('events:PutEvents'), `${name} publishes`).toBe(Boolean(spec.publishesEvents));
    }
  });

  it('grants DeleteItem only where the code deletes, and BatchWriteItem nowhere', () => {
    const deleters = specs
      .filter(([, spec]) => Object.values(spec.tables).some((grant) => tableGrant(grant).deletes))
      .map(([name]) => name);
    // Alerts delete alert rules (DELETE /v1/alerts/{id}), billing-admin deletes quotas, corrections delete a voided or
    // replaced TIME_WEIGHTED reading, the recompute worker's repairs delete counters and markers the ledger has no event
    // for; nothing else deletes an item.
    expect(deleters.sort()).toEqual(['alerts', 'billing-admin', 'corrections', 'recompute-worker']);
    for (const [name] of specs) {
      const role = logicalId(prod, prod.stack.functions.byName[name].role!);
      const actions = statements(prod)
        .filter((s) => s.roles.includes(role))
        .flatMap((s) => s.actions);
      expect(actions.includes('dynamodb:DeleteItem'), name).toBe(deleters.includes(name));
      expect(actions).not.toContain('dynamodb:BatchWriteItem');
    }
  });

  it('keeps the alerts and report functions inside tenant partitions, away from API keys', () => {
    const tenantsArn = JSON.stringify(getAtt(logicalId(prod, prod.stack.tables.byName.tenants)));
    for (const name of ['alerts', 'alert-evaluator', 'usage-report', 'usage-report-worker'] as const) {
      const role = logicalId(prod, prod.stack.functions.byName[name].role!);
      const onTenants = statements(prod).filter(
        (s) => s.roles.includes(role) && s.resources.some((r) => JSON.stringify(r).includes(tenantsArn)),
      );
      expect(onTenants.length, name).toBeGreaterThan(0);
      for (const statement of onTenants) {
        const keys = statement.condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'] as string[];
        const onIndex = JSON.stringify(statement.resources).includes('/index/gsi1');
        expect(keys, `${name} ${onIndex ? 'index' : 'table'}`).toEqual(onIndex ? ['TENANTS'] : ['TENANT#*']);
        // The report only reads tenants.
        if (name.startsWith('usage-report')) expect(statement.actions, name).not.toContain('dynamodb:PutItem');
        // API keys live in APIKEY#<id> partitions and are listed under TENANT#<id>#APIKEYS in the index.
        const reaches = (key: string) => keys.some((k) => new RegExp(`^${k.replaceAll('*', '.*')}$`).test(key));
        expect(reaches(onIndex ? 'TENANT#t1#APIKEYS' : 'APIKEY#k1')).toBe(false);
      }
    }
  });

  it('gives the public webhook and the portal route only their own restricted keys, and the Stripe secret key only to the jobs that write to Stripe', () => {
    const secretArn = (name: string) => JSON.stringify({ Ref: logicalId(prod, prod.stack.node.findChild('Secrets').node.findChild(name)) });
    const readable = (fn: FunctionName) => {
      const role = logicalId(prod, prod.stack.functions.byName[fn].role!);
      return statements(prod)
        .filter((s) => s.roles.includes(role) && s.actions.includes('secretsmanager:GetSecretValue'))
        .flatMap((s) => s.resources.map((r) => JSON.stringify(r)));
    };
    expect(readable('stripe-webhook')).toEqual([secretArn('stripe-webhook')]);
    expect(readable('billing-portal')).toEqual([secretArn('stripe-portal')]);
    expect(readable('usage-report-worker')).toEqual([secretArn('stripe')]);
    // The invoice job adds credit and true-up lines to Stripe's draft invoices.
    expect(readable('invoicing')).toEqual([secretArn('stripe')]);
    // The report's planner only lists tenants and queues their slices: no Stripe.
    expect(readable('usage-report')).toEqual([]);
    for (const [name, spec] of specs)
      if (!spec.secrets?.includes('stripe')) expect(readable(name), name).not.toContain(secretArn('stripe'));
  });

  it('reserves concurrency for the queue consumers, the Stripe webhook and the scheduled jobs in prod, and nothing in dev', () => {
    const reserved = stageConfig('prod').reservedConcurrency;
    const protectedFunctions = specs
      .filter(
        ([, spec]) =>
          spec.consumesUsageQueue ||
          spec.consumesReportQueue ||
          spec.consumesWebhookQueue ||
          spec.consumesEmailQueue ||
          spec.functionUrl ||
          spec.schedule,
      )
      .map(([name]) => name);
    expect(Object.keys(reserved).sort()).toEqual(protectedFunctions.sort());
    for (const [name] of specs) {
      const fn = (s: Synthesized) =>
        resources(s.template, 'AWS::Lambda::Function')[logicalId(s, s.stack.functions.byName[name])]!.Properties!;
      expect(fn(prod).ReservedConcurrentExecutions, name).toBe(reserved[name]);
      expect(fn(dev).ReservedConcurrentExecutions, name).toBeUndefined();
    }
    // A reservation below the event source mapping's maximum would only turn batches into throttles.
    expect(reserved.consumer).toBeGreaterThanOrEqual(consumerMaxConcurrency);
    expect(reserved['usage-report-worker']).toBeGreaterThanOrEqual(reportQueueSettings.maxConcurrency);
    expect(reserved['webhook-delivery']).toBeGreaterThanOrEqual(webhookQueueSettings.maxConcurrency);
    // Lambda keeps 100 of the account's concurrency unreserved; the default quota is 1,000.
    expect(Object.values(reserved).reduce((a, b) => a + b, 0) + 100).toBeLessThanOrEqual(1000);
  });

  it('passes secrets by ARN, never by value', () => {
    for (const [name, spec] of specs) {
      const env = resources(prod.template, 'AWS::Lambda::Function')[logicalId(prod, prod.stack.functions.byName[name])]!.Properties!
        .Environment.Variables;
      for (const secret of spec.secrets ?? []) expect(env[secretArnEnv(secret)]).toEqual({ Ref: expect.any(String) });
    }
    prod.template.hasResourceProperties('AWS::SecretsManager::Secret', { Name: 'meterline/prod/stripe' });
  });

  it('serves functionUrl functions on a function URL that they authenticate themselves', () => {
    const urls = specs.filter(([, s]) => s.functionUrl);
    prod.template.resourceCountIs('AWS::Lambda::Url', urls.length);
    for (const [name] of urls) {
      prod.template.hasResourceProperties('AWS::Lambda::Url', {
        AuthType: 'NONE',
        TargetFunctionArn: getAtt(logicalId(prod, prod.stack.functions.byName[name])),
      });
    }
  });
});

describe('HTTP API', () => {
  it('gives the rate-limited tenant routes a lower throttle than the admin routes, as settings of the stage', () => {
    for (const [s, stage] of [
      [dev, stageConfig('dev')],
      [prod, stageConfig('prod')],
    ] as const) {
      const [apiStage] = Object.values(resources(s.template, 'AWS::ApiGatewayV2::Stage'));
      const { DefaultRouteSettings, RouteSettings } = apiStage!.Properties as Record<string, any>;
      expect(DefaultRouteSettings).toMatchObject({ ThrottlingRateLimit: stage.apiThrottle.rateLimit });
      const limited = Object.values(functionSpecs).flatMap((spec) => (spec.routes ?? []).filter((route) => bucketOf(route)));
      expect(Object.keys(RouteSettings).sort()).toEqual(limited.sort());
      for (const setting of Object.values(RouteSettings) as Record<string, number>[])
        expect(setting.ThrottlingRateLimit).toBeLessThan(stage.apiThrottle.rateLimit);
      expect(Object.keys(RouteSettings).some((route) => route.includes('/v1/admin'))).toBe(false);
    }
  });

  it('routes every catalog route through the API-key authorizer', () => {
    const routes = specs.flatMap(([, s]) => s.routes ?? []);
    prod.routes.resourceCountIs('AWS::ApiGatewayV2::Route', routes.length);
    for (const route of routes) {
      prod.routes.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: route,
        AuthorizationType: 'CUSTOM',
        AuthorizerId: Match.anyValue(),
      });
    }
  });

  it('denies malformed, unknown and revoked keys, so API Gateway answers 403 and no route function runs', async () => {
    const [good, gone, unknown] = [generateApiKey(), generateApiKey(), generateApiKey()];
    const record = { role: 'tenant' as const, tenantId: 't1', createdAt: '2026-01-01T00:00:00Z', name: 'k' };
    const keys = new Map([
      [good.keyId, { ...record, keyId: good.keyId, secretHash: good.secretHash }],
      [gone.keyId, { ...record, keyId: gone.keyId, secretHash: gone.secretHash, revokedAt: '2026-02-01T00:00:00Z' }],
    ]);
    const authorizer = createAuthorizer({ getApiKey: async (id) => keys.get(id), getSession: async () => undefined });
    const ask = (authorization: string) => authorizer({ headers: { authorization } } as never);
    for (const bad of ['Bearer nonsense', `Bearer ${unknown.token}`, `Bearer ${good.token.slice(0, -4)}AAAA`, `Bearer ${gone.token}`]) {
      expect(await ask(bad), bad).toEqual({ isAuthorized: false });
    }
    expect(await ask(`Bearer ${good.token}`)).toMatchObject({ isAuthorized: true, context: { role: 'tenant', tenantId: 't1' } });
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
  const scheduled = specs.filter(([, s]) => s.schedule);
  const queueArn = (s: Synthesized, queue: IConstruct) => getAtt(logicalId(s, queue));

  it('invokes every scheduled function with the ScheduledInvocation input, retries and a DLQ', () => {
    prod.template.resourceCountIs('AWS::Scheduler::Schedule', scheduled.length + 1);
    for (const [name, spec] of scheduled) {
      const schedule = Object.values(resources(prod.template, 'AWS::Scheduler::Schedule')).find(
        (s) => JSON.stringify(s.Properties!.Target.Arn) === JSON.stringify(getAtt(logicalId(prod, prod.stack.functions.byName[name]))),
      )!.Properties!;
      expect(schedule.ScheduleExpression).toBe(spec.schedule);
      expect(JSON.parse(schedule.Target.Input)).toEqual({
        source: 'meterline.schedule',
        schedule: name,
        time: '<aws.scheduler.scheduled-time>',
      });
      expect(schedule.Target.RetryPolicy).toEqual({ MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 });
      expect(schedule.Target.DeadLetterConfig?.Arn).toEqual(queueArn(prod, prod.stack.schedules.deadLetterQueue));
    }
  });

  it('sends every failed run to its own failure queue (an on-failure destination), which alarms', () => {
    expect(prod.stack.schedules.jobs.map((j) => j.name).sort()).toEqual(scheduled.map(([name]) => name).sort());
    prod.template.resourceCountIs('AWS::Lambda::EventInvokeConfig', scheduled.length);
    for (const job of prod.stack.schedules.jobs) {
      prod.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: logicalId(prod, job.fn) },
        MaximumRetryAttempts: jobRetryAttempts,
        DestinationConfig: { OnFailure: { Destination: queueArn(prod, job.failureQueue) } },
      });
      const alarm = alarmsOn(prod, 'ApproximateNumberOfMessagesVisible', 'AWS/SQS').find(
        (a) =>
          JSON.stringify(a.Properties!.Dimensions[0].Value) ===
          JSON.stringify({ 'Fn::GetAtt': [logicalId(prod, job.failureQueue), 'QueueName'] }),
      );
      expect(alarm?.Properties, job.name).toMatchObject({
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        AlarmActions: [expect.anything()],
      });
      // The role may send the failed run to this queue.
      const role = logicalId(prod, job.fn.role!);
      expect(
        statements(prod).some(
          (st) =>
            st.roles.includes(role) &&
            st.actions.includes('sqs:SendMessage') &&
            JSON.stringify(st.resources).includes(logicalId(prod, job.failureQueue)),
        ),
      ).toBe(true);
    }
  });

  it('alarms when a job has not run for its interval and two more periods, counting no data as a missed run', () => {
    for (const job of prod.stack.schedules.jobs) {
      const alarm = alarmsOn(prod, 'Invocations', 'AWS/Lambda').find(
        (a) => JSON.stringify(a.Properties!.Dimensions[0].Value) === JSON.stringify({ Ref: logicalId(prod, job.fn) }),
      )!;
      const { Period, EvaluationPeriods } = alarm.Properties!;
      expect(alarm.Properties).toMatchObject({
        ComparisonOperator: 'LessThanThreshold',
        Threshold: 1,
        TreatMissingData: 'breaching',
        Statistic: 'Sum',
      });
      expect(Period * EvaluationPeriods).toBe(job.interval.toSeconds() + 2 * Period);
      // CloudWatch: at most a day of evaluation for periods under an hour, seven days otherwise.
      expect(Period * EvaluationPeriods).toBeLessThanOrEqual(Period < 3600 ? 86_400 : 604_800);
    }
  });

  it('deletes the schedule group with the stack, so a destroyed dev stack deploys again under the same name', () => {
    for (const s of [dev, prod]) {
      const [group] = Object.values(resources(s.template, 'AWS::Scheduler::ScheduleGroup'));
      expect(group!.DeletionPolicy).toBe('Delete');
    }
  });
});

describe('usage evidence', () => {
  it('exports the ledger monthly to a bucket that keeps it as long as an invoice can be disputed, locked in prod', () => {
    const prodStage = stageConfig('prod');
    const bucket = resources(prod.template, 'AWS::S3::Bucket')[logicalId(prod, prod.stack.evidence.bucket)]!;
    expect(bucket.Properties).toMatchObject({
      ObjectLockEnabled: true,
      ObjectLockConfiguration: {
        ObjectLockEnabled: 'Enabled',
        Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: prodStage.evidenceRetentionDays } },
      },
      VersioningConfiguration: { Status: 'Enabled' },
    });
    expect(bucket.Properties!.LifecycleConfiguration.Rules[0]).toMatchObject({
      ExpirationInDays: prodStage.evidenceRetentionDays,
      Status: 'Enabled',
    });
    expect(bucket.DeletionPolicy).toBe('Retain');
    const devBucket = resources(dev.template, 'AWS::S3::Bucket')[logicalId(dev, dev.stack.evidence.bucket)]!;
    expect(devBucket.Properties!.ObjectLockEnabled).toBeUndefined();

    const schedule = Object.values(resources(prod.template, 'AWS::Scheduler::Schedule')).find(
      (x) => x.Properties!.ScheduleExpression === ledgerExportSchedule,
    )!;
    expect(schedule.Properties!.Target.Arn).toEqual({ Ref: logicalId(prod, prod.stack.evidence.workflow) });
    // The workflow starts one export per scheduled run (its client token) and follows it to COMPLETED or FAILED.
    const workflow = JSON.stringify(
      resources(prod.template, 'AWS::StepFunctions::StateMachine')[logicalId(prod, prod.stack.evidence.workflow)],
    );
    for (const field of ['dynamodb:exportTableToPointInTime', 'dynamodb:describeExport', 'FULL_EXPORT', 'ClientToken.$', 'ExportFailed'])
      expect(workflow).toContain(field);
    expect(workflow).toContain(logicalId(prod, prod.stack.tables.byName.events));
    expect(workflow).toContain(logicalId(prod, prod.stack.evidence.bucket));
    // Its alarm counts runs that never started, failed, timed out or were aborted.
    const alarm = alarms(prod).find((x) => String(x.Properties!.AlarmDescription).startsWith('The monthly ledger export'))!;
    const watched = JSON.stringify(alarm.Properties!.Metrics);
    for (const metric of ['ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted', 'ApproximateNumberOfMessagesVisible'])
      expect(watched).toContain(metric);
    // An export needs point-in-time recovery on the ledger, and monthly exports must be closer together than its TTL.
    const ledger = resources(prod.template, 'AWS::DynamoDB::Table')[logicalId(prod, prod.stack.tables.byName.events)]!;
    expect(ledger.Properties!.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
  });
});

describe('observability', () => {
  it('alarms on DLQ depth, oldest message age, consumer errors and report failures', () => {
    const depthAlarms = alarmsOn(prod, 'ApproximateNumberOfMessagesVisible', 'AWS/SQS').map((a) => a.Properties!.Dimensions[0].Value);
    for (const queue of [prod.stack.usageQueue.deadLetterQueue, prod.stack.reportQueue.deadLetterQueue])
      expect(depthAlarms).toContainEqual({ 'Fn::GetAtt': [logicalId(prod, queue), 'QueueName'] });
    expect(alarmsOn(prod, 'ApproximateAgeOfOldestMessage', 'AWS/SQS')).toHaveLength(1);
    const consumerErrors = alarmsOn(prod, 'Errors', 'AWS/Lambda').map((a) => a.Properties!.Dimensions[0].Value);
    for (const [name] of specs.filter(([, s]) => s.consumesUsageQueue))
      expect(consumerErrors).toContainEqual({ Ref: logicalId(prod, prod.stack.functions.byName[name]) });
  });

  it('alarms on webhook failures, reconciliation mismatches, quarantined and failed events, each metric with the stage dimension', () => {
    for (const metric of [
      'WebhookFailures',
      'WebhookEventsUnprocessable',
      'ReconciliationMismatches',
      'EventsQuarantined',
      'EventsFailed',
      'ReportFailures',
      'MeterErrorReports',
    ]) {
      for (const s of [dev, prod]) {
        const [alarm] = alarmsOn(s, metric, 'Meterline');
        expect(alarm?.Properties!.Dimensions, `${metric} ${s.stack.stackName}`).toEqual([
          { Name: 'service', Value: 'meterline' },
          { Name: 'stage', Value: s === prod ? 'prod' : 'dev' },
        ]);
      }
    }
    for (const alarm of alarmsOn(prod, undefined, 'Meterline'))
      expect(alarm.Properties!.Dimensions).toContainEqual({ Name: 'stage', Value: 'prod' });
  });

  it('alarms on DynamoDB throttling of every table, and on Lambda throttling of every function but the one-at-a-time jobs', () => {
    const all = alarms(prod);
    for (const table of tableNames) {
      const id = logicalId(prod, prod.stack.tables.byName[table]);
      expect(
        all.some(
          (a) =>
            JSON.stringify(a.Properties!.Metrics ?? []).includes('WriteThrottleEvents') &&
            JSON.stringify(a.Properties!.Metrics).includes(id),
        ),
        table,
      ).toBe(true);
    }
    const throttled = alarmsOn(prod, 'Throttles', 'AWS/Lambda').map((a) => JSON.stringify(a.Properties!.Dimensions[0].Value));
    for (const [name, spec] of specs) {
      const ref = JSON.stringify({ Ref: logicalId(prod, prod.stack.functions.byName[name]) });
      // A scheduled job's reservation is a lock: a throttle is a run waiting its turn (late runs alarm elsewhere).
      if (spec.schedule) expect(throttled, name).not.toContain(ref);
      else expect(throttled, name).toContain(ref);
    }
  });

  it('names a section of docs/operations.md in every alarm', () => {
    const doc = readFileSync('docs/operations.md', 'utf8');
    const anchors = new Set(
      [...doc.matchAll(/^#+ (.+)$/gm)].map((m) =>
        m[1]!
          .toLowerCase()
          .replace(/[^\w\- ]/g, '')
          .replaceAll(' ', '-'),
      ),
    );
    for (const s of [dev, prod]) {
      for (const alarm of alarms(s)) {
        const cited = /Runbook: docs\/operations\.md#([\w-]+)$/.exec(alarm.Properties!.AlarmDescription)?.[1];
        expect(cited, alarm.Properties!.AlarmDescription).toBeDefined();
        expect(anchors.has(cited!), cited).toBe(true);
      }
    }
  });

  it('notifies every prod alarm to a subscriber the deploy must name, and keeps dev quiet', () => {
    for (const alarm of alarms(prod)) expect(alarm.Properties!.AlarmActions).toHaveLength(1);
    // cdk.json names nobody: the address is a stack parameter without a default, so CloudFormation refuses a deploy without it.
    const parameter = prod.template.toJSON().Parameters.AlarmEmail;
    expect(parameter).toMatchObject({ Type: 'String', AllowedPattern: expect.any(String) });
    expect(parameter.Default).toBeUndefined();
    expect(parameter.ConstraintDescription).toContain('--parameters AlarmEmail=');
    expect(new RegExp(parameter.AllowedPattern).test('oncall@your-company.com')).toBe(true);
    expect(new RegExp(parameter.AllowedPattern).test('oncall')).toBe(false);
    const [subscription] = Object.values(fromParent(prod, resources(prod.monitoring, 'AWS::SNS::Subscription')));
    expect(subscription!.Properties).toMatchObject({ Protocol: 'email', Endpoint: { Ref: 'AlarmEmail' } });
    for (const alarm of alarms(dev)) expect(alarm.Properties!.AlarmActions).toBeUndefined();
    dev.monitoring.resourceCountIs('AWS::SNS::Topic', 0);
    expect(dev.template.toJSON().Parameters.AlarmEmail).toBeUndefined();
  });

  it('subscribes an address given in context instead, with no parameter', () => {
    const { stack } = buildApp('prod', { 'alarmEmail:prod': alarmEmail });
    Template.fromStack(stack.monitoring).hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: alarmEmail });
    expect(Template.fromStack(stack).toJSON().Parameters.AlarmEmail).toBeUndefined();
  });

  it('refuses a placeholder at a reserved domain, or no address at all, saying how to set one', () => {
    for (const placeholder of [
      'oncall@meterline.example',
      'oncall@example.com',
      'ops@mail.example.org',
      'a@example.net',
      'a@b.test',
      'a@x.invalid',
      'a@host.localhost',
    ])
      expect(() => buildApp('prod', { 'alarmEmail:prod': placeholder }), placeholder).toThrow(
        /reserved domain.*-c alarmEmail:prod=.*--parameters AlarmEmail=/,
      );
    expect(() => buildApp('prod', { 'alarmEmail:prod': 'oncall' })).toThrow(/not an e-mail address.*--parameters AlarmEmail=/);
  });

  it('alarms on the webhook delivery DLQ and shows it on the dashboard', () => {
    const dlq = { 'Fn::GetAtt': [logicalId(prod, prod.stack.webhookQueue.deadLetterQueue), 'QueueName'] };
    const [alarm] = alarmsOn(prod, 'ApproximateNumberOfMessagesVisible', 'AWS/SQS').filter(
      (a) => JSON.stringify(a.Properties!.Dimensions[0].Value) === JSON.stringify(dlq),
    );
    expect(alarm?.Properties).toMatchObject({ Threshold: 1, AlarmActions: [expect.anything()] });
    expect(JSON.stringify(fromParent(prod, resources(prod.monitoring, 'AWS::CloudWatch::Dashboard')))).toContain(JSON.stringify(dlq));
  });

  it('has a dashboard with the custom metrics', () => {
    const body = JSON.stringify(resources(prod.monitoring, 'AWS::CloudWatch::Dashboard'));
    for (const metric of ['EventsAccepted', 'EventsRejected', 'EventsDuplicate', 'AggregationLag', 'ReportFailures'])
      expect(body).toContain(metric);
  });
});

describe('dashboard hosting', () => {
  it('serves a private, TLS-only bucket through CloudFront with origin access control', () => {
    prod.template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LoggingConfiguration: Match.anyValue(),
    });
    prod.template.resourceCountIs('AWS::CloudFront::OriginAccessControl', 1);
    prod.template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        DefaultCacheBehavior: Match.objectLike({ ViewerProtocolPolicy: 'redirect-to-https' }),
        Logging: Match.anyValue(),
      }),
    });
  });

  it('sends a Content-Security-Policy that allows only the dashboard itself and the API, and HSTS', () => {
    const [policy] = Object.values(resources(prod.template, 'AWS::CloudFront::ResponseHeadersPolicy'));
    const headers = policy!.Properties!.ResponseHeadersPolicyConfig.SecurityHeadersConfig;
    const csp = JSON.stringify(headers.ContentSecurityPolicy.ContentSecurityPolicy);
    for (const directive of [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "connect-src 'self' https://",
      "frame-ancestors 'none'",
    ])
      expect(csp).toContain(directive);
    // connect-src names this stack's API, not a wildcard.
    expect(csp).toContain(logicalId(prod, prod.stack.api.httpApi));
    expect(csp).not.toMatch(/\*/);
    expect(headers.ContentSecurityPolicy.Override).toBe(true);
    expect(headers.StrictTransportSecurity).toMatchObject({
      AccessControlMaxAgeSec: 730 * 86_400,
      IncludeSubdomains: true,
      Override: true,
    });
    prod.template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        DefaultCacheBehavior: Match.objectLike({
          ResponseHeadersPolicyId: { Ref: Object.keys(resources(prod.template, 'AWS::CloudFront::ResponseHeadersPolicy'))[0] },
        }),
      }),
    });
  });

  it('uploads the built dashboard with its config.json and invalidates the distribution', () => {
    const [upload] = Object.values(resources(prod.template, 'Custom::CDKBucketDeployment'));
    expect(upload).toBeDefined();
    expect(upload!.Properties).toMatchObject({
      DestinationBucketName: { Ref: logicalId(prod, prod.stack.node.findAll().find((c) => c.node.path.endsWith('Dashboard/Site'))!) },
      DistributionPaths: ['/*'],
    });
    expect(upload!.Properties!.SourceObjectKeys).toHaveLength(2);
    // config.json's API URL is only known at deploy time: a marker the deployment fills in.
    expect(upload!.Properties!.SourceMarkers).toHaveLength(2);
    // Sign-in links point at the distribution, which the functions learn from a stage variable.
    prod.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', { StageVariables: { dashboardUrl: Match.anyValue() } });
  });
});

describe('resource budget', () => {
  // CloudFormation allows 500 resources per stack (nested stacks have their own 500); this keeps room for features.
  const budget = 300;

  it(`keeps each stack at ${budget} resources or fewer`, () => {
    for (const s of [prod, dev]) {
      for (const [name, template] of [
        [s.stack.stackName, s.template],
        [`${s.stack.stackName} monitoring`, s.monitoring],
        [`${s.stack.stackName} routes`, s.routes],
      ] as const) {
        const count = Object.keys(template.toJSON().Resources).length;
        console.info(`${name}: ${count} resources of ${budget}`);
        expect(count, `${name} has ${count} resources`).toBeLessThanOrEqual(budget);
      }
    }
  });

  it('grants API Gateway one invoke permission per route function, not one per route', () => {
    const routed = specs.filter(([, spec]) => spec.routes?.length);
    // The route functions' sit beside their routes; the authorizer's beside the API, which binds it.
    const fromApi = [prod.routes, prod.template]
      .flatMap((t) => Object.values(resources(t, 'AWS::Lambda::Permission')))
      .filter((p) => p.Properties!.Principal === 'apigateway.amazonaws.com');
    // The route functions' and the authorizer's.
    expect(fromApi).toHaveLength(routed.length + 1);
  });
});

describe('ledger export alarm', () => {
  it('counts a run Scheduler could not start (its own queue) in the export alarm, which notifies', () => {
    const queue = prod.stack.evidence.failureQueue;
    const schedule = Object.values(resources(prod.template, 'AWS::Scheduler::Schedule')).find(
      (x) => x.Properties!.ScheduleExpression === ledgerExportSchedule,
    )!;
    expect(schedule.Properties!.Target.DeadLetterConfig.Arn).toEqual(getAtt(logicalId(prod, queue)));
    const alarm = alarms(prod).find((a) => String(a.Properties!.AlarmDescription).startsWith('The monthly ledger export'))!;
    expect(alarm.Properties).toMatchObject({ Threshold: 1, AlarmActions: [expect.anything()] });
    expect(JSON.stringify(alarm.Properties!.Metrics)).toContain(JSON.stringify({ 'Fn::GetAtt': [logicalId(prod, queue), 'QueueName'] }));
  });
});
