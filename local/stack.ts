import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { Server, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { buildDashboard } from '../dashboard/build.js';
import {
  emailQueueSettings,
  type FunctionName,
  type FunctionSpec,
  functionSpecs,
  reportQueueSettings,
  usageQueueSettings,
  webhookQueueSettings,
} from '../infra/catalog.js';
import { apiCors } from '../infra/cors.js';
import { documentClient } from '../shared/platform/dynamo/client.js';
import type { ScheduledInvocation } from '../shared/platform/schedule.js';
import { DynamoStripeStore } from '../shared/stripe/adapters/stripe-store.js';
import type { ReportPlan } from '../shared/stripe/report-slices.js';
import { type ReportSummary, summarizeRun } from '../shared/stripe/usage-report.js';
import { asFunction, recordAwsCalls, settleAwsCalls } from './aws-calls.js';
import { startDynamoDbLocal } from './dynamodb-local.js';
import { type EventSourceMapping, startEventSourceMapping } from './event-source-mapping.js';
import { type EventBridgeEmulator, startEventBridge } from './eventbridge.js';
import { functionUrlEvent, type Route, startGateway } from './gateway.js';
import { type Handler, LOCAL_REGION, lambdaContext } from './lambda.js';
import { type Mailbox, mailboxAnswer, startMailbox } from './mailbox.js';
import { freePort } from './net.js';
import { createQueues, createTables, type Queues, tableEnv } from './resources.js';
import { type Schedule, startScheduler } from './scheduler.js';
import { startSqsLocal } from './sqs-local.js';
import {
  LOCAL_WEBHOOK_SECRET,
  type StripeEmulator,
  type StripeEmulatorOptions,
  startStripeEmulator,
  usesRealStripe,
} from './stripe-emulator/server.js';

export interface LocalStackOptions {
  /** Gateway port; a free one when absent. */
  port?: number;
  /** Reuse running emulators (the test suite starts them once); started here when absent. */
  dynamoEndpoint?: string;
  sqsEndpoint?: string;
  /** Prefix of every table and queue, so several stacks can share the emulators. */
  prefix?: string;
  visibilityTimeoutSeconds?: number;
  /** The report queue's visibility timeout: six worker timeouts as in AWS when absent. */
  reportVisibilityTimeoutSeconds?: number;
  authorizerCacheTtlMs?: number;
  consumerConcurrency?: number;
  /** Messages an invocation of the consumer takes at most: the usage queue's mapping setting when absent. */
  consumerBatchSize?: number;
  /** Seconds before a failed usage message is received again: the visibility timeout when absent, as in AWS. */
  consumerRetryDelaySeconds?: number;
  /** Replaces the consumer handler, for tests that inject faults around the real one. */
  consumer?: (real: Handler<SQSEvent, SQSBatchResponse>) => Handler<SQSEvent, SQSBatchResponse>;
  /** Extra environment for the functions (settings such as GRACE_PERIOD_HOURS). */
  env?: Record<string, string>;
  /** The local Stripe emulator's options; it runs unless STRIPE_SECRET_KEY holds a real Stripe key. */
  stripe?: StripeEmulatorOptions;
  /**
   * Whether each schedule fires on its own when due, as EventBridge Scheduler does (the default). Tests turn it off and
   * fire schedules with `runSchedule`, so that what a test sees never depends on the time of day it runs at.
   */
  schedulesOnTime?: boolean;
  /** Where DynamoDB Local (when started here) and the Stripe emulator keep their data across starts; in memory when absent. */
  stateDir?: string;
}

/** What stopping now would cut short. */
export interface Unfinished {
  requests: number;
  jobs: string[];
  /** Messages on the usage queue: visible, being consumed or delayed. */
  usageMessages: number;
  reportMessages: number;
  /** Webhook deliveries waiting on the queue (retries are delayed messages). */
  webhookMessages: number;
}

export interface LocalStack {
  apiUrl: string;
  env: Record<string, string>;
  dynamo: DynamoDBClient;
  sqs: SQSClient;
  queues: Queues;
  consumer: EventSourceMapping;
  /** The local `meterline` event bus: every event put on it. */
  eventBus: EventBridgeEmulator;
  /** The local SMTP server the email worker sends to: every message it took (SES's part in AWS). */
  mailbox: Mailbox;
  /** Base URL of each function URL, by function name. */
  functionUrls: Record<string, string>;
  /** How many times a function has been invoked (what Lambda's Invocations metric counts). */
  invocations(name: FunctionName): number;
  /** Summed wall-clock time of a function's invocations in ms (what Lambda's Duration metric adds up). */
  busyMs(name: FunctionName): number;
  /** Runs a scheduled function now, as its schedule would. */
  runSchedule(name: FunctionName, due?: Date): Promise<unknown>;
  /**
   * Runs the daily report as its schedule would (the planner), then waits until the report workers have recorded
   * every slice it sent; the run's summary over its slices.
   */
  runReport(due?: Date, timeoutMs?: number): Promise<ReportRun>;
  /**
   * Resolves when the usage queue holds no visible or in-flight message; fails once it has not grown shorter for
   * `timeoutMs` (60 s by default), so that a large backlog on a loaded machine has the time it needs and a stuck one
   * does not.
   */
  drained(timeoutMs?: number): Promise<void>;
  /**
   * A graceful stop's first half: the gateway answers API requests 503 with Retry-After, the requests already in finish,
   * no schedule fires again and the running jobs end, the consumer empties the usage queue and the report workers
   * theirs, and webhook deliveries and emails due now are made. What is left after `timeoutMs` stays; `stop()` follows.
   */
  quiesce(timeoutMs?: number): Promise<Unfinished>;
  unfinished(): Promise<Unfinished>;
  stop(): Promise<void>;
  /** The Stripe emulator the functions talk to (absent when they talk to Stripe). */
  stripe?: StripeEmulator;
}

export type ReportRun = ReportSummary & Pick<ReportPlan, 'runId' | 'slices'>;

const ROOT = resolve(import.meta.dirname, '..');
interface WorkerQueueSettings {
  batchSize: number;
  maxBatchingWindowSeconds: number;
  maxConcurrency: number;
}

/** The local stand-in for the stack's `meterline-<stage>` bus. */
const LOCAL_EVENT_BUS = 'meterline-local';

/** `f`'s promise, made at the first call and shared by every later one. */
function once<T>(f: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => (made ??= f());
}

/** A directory of this start's own, removed when the stack stops: without a state directory, nothing is kept. */
function temporaryDir(stops: (() => Promise<void>)[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'meterline-'));
  stops.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Sets the functions' environment in this process, as Lambda sets a container's, and has `stops` put back what was
 * there: a later stack in the same process (a test worker runs several) sees none of this one's settings.
 */
function setEnvironment(values: Record<string, string>, stops: (() => Promise<void>)[]): void {
  const before = Object.fromEntries(Object.keys(values).map((name) => [name, process.env[name]]));
  Object.assign(process.env, values);
  stops.push(async () => {
    for (const [name, value] of Object.entries(before)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });
}

/**
 * The whole system on this machine: DynamoDB Local, the SQS emulator, and the real handlers behind a
 * local API Gateway, SQS event source mapping and (later) schedules. Handlers are the modules Lambda runs;
 * only their triggers are played here.
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const stops: (() => Promise<void>)[] = [];
  // The AWS calls the functions make, held against the permission record when the stack stops.
  recordAwsCalls();
  try {
    // The JVM of DynamoDB Local takes seconds to come up: it starts first, on a port chosen now, and everything that
    // needs no table (the other emulators, the functions' modules) is made ready meanwhile.
    let dynamoEndpoint = options.dynamoEndpoint;
    let dynamoStarted: Promise<unknown> = Promise.resolve();
    if (!dynamoEndpoint) {
      const dynamoPort = await freePort();
      const starting = startDynamoDbLocal({ port: dynamoPort, dbPath: options.stateDir && join(options.stateDir, 'dynamodb') });
      stops.push(async () => (await starting.catch(() => undefined))?.stop());
      dynamoStarted = starting;
      dynamoStarted.catch(() => undefined); // awaited below, after the work done meanwhile
      dynamoEndpoint = `http://127.0.0.1:${dynamoPort}`;
    }
    const sqsEndpoint: string = options.sqsEndpoint ?? (await startSqsLocal().then((s) => (stops.push(s.stop), s.endpoint)));
    const prefix = options.prefix ?? `meterline-${randomBytes(3).toString('hex')}`;
    // Built at the first request for one of its files: most stacks of the test suite never serve a page.
    const dashboard = once(() => buildDashboard({ debug: true }));

    const base = {
      AWS_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint,
      AWS_ENDPOINT_URL_SQS: sqsEndpoint,
      POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
      POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED ?? 'true',
    };
    setEnvironment(base, stops);
    const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
    const dynamo = new DynamoDBClient({ region: LOCAL_REGION, endpoint: dynamoEndpoint, credentials });
    const sqs = new SQSClient({ region: LOCAL_REGION, endpoint: sqsEndpoint, credentials });

    const visibility = options.visibilityTimeoutSeconds ?? 5;
    const queues = await createQueues(sqs, prefix, visibility, options.reportVisibilityTimeoutSeconds);
    // The bus's rule that feeds the email worker (infra/email.ts): every event onto the email queue, as EventBridge wraps it.
    const eventBus = await startEventBridge([LOCAL_EVENT_BUS], (e) => {
      const envelope = {
        version: '0',
        id: e.id,
        'detail-type': e.detailType,
        source: e.source,
        time: e.time,
        region: LOCAL_REGION,
        detail: e.detail,
      };
      sqs
        .send(new SendMessageCommand({ QueueUrl: queues.emailQueueUrl, MessageBody: JSON.stringify(envelope) }))
        .catch((error) => console.error('the email rule could not queue an event', error));
    });
    stops.push(eventBus.stop);
    const mailbox = await startMailbox();
    stops.push(mailbox.stop);
    const stripe = usesRealStripe()
      ? undefined
      : await startStripeEmulator({
          ...(options.stateDir ? { statePath: join(options.stateDir, 'stripe.json') } : {}),
          ...options.stripe,
        }).then((s) => (stops.push(s.stop), s));
    const stripeEnv: Record<string, string> = stripe
      ? { STRIPE_API_BASE: stripe.url, STRIPE_SECRET_KEY: stripe.apiKey, STRIPE_WEBHOOK_SECRET: LOCAL_WEBHOOK_SECRET }
      : {};
    const port = options.port ?? (await freePort());
    const apiUrl = `http://127.0.0.1:${port}`;
    // The dashboard is served by the gateway itself (see the fallback), so sign-in links point here.
    const env = {
      ...base,
      ...tableEnv(prefix),
      USAGE_QUEUE_URL: queues.usageQueueUrl,
      DASHBOARD_URL: apiUrl,
      WEBHOOK_QUEUE_URL: queues.webhookQueueUrl,
      REPORT_QUEUE_URL: queues.reportQueueUrl,
      EMAIL_QUEUE_URL: queues.emailQueueUrl,
      // Mail goes to the local capturing SMTP server instead of SES; its links to the local links function.
      SMTP_URL: mailbox.url,
      EMAIL_FROM: 'Meterline <mail@meterline.localhost>',
      EMAIL_LINKS_URL: `${apiUrl}/_url/email-links`,
      OPERATOR_EMAILS: 'operator@meterline.localhost',
      EVENT_BUS_NAME: LOCAL_EVENT_BUS,
      AWS_ENDPOINT_URL_EVENTBRIDGE: eventBus.endpoint,
      // Local receivers listen on 127.0.0.1; in AWS this is never set and loopback is refused like every private address.
      WEBHOOK_ALLOW_LOOPBACK: 'true',
      // The Parquet export (S3 in AWS) in the state directory, where `npm run admin -- usage sql` reads it; a run
      // exports up to its own time (no settling minutes), so what was just counted is there.
      EXPORT_DIR: join(options.stateDir ?? temporaryDir(stops), 'export'),
      EXPORT_SETTLE_SECONDS: '0',
      ...stripeEnv,
      ...options.env,
    };
    setEnvironment(env, stops);

    const invocations = new Map<FunctionName, number>();
    const busy = new Map<FunctionName, number>();
    const load = async <E, R>(name: FunctionName): Promise<Handler<E, R>> => {
      const { handler } = (await import(resolve(ROOT, functionSpecs[name].entry))) as { handler: Handler<E, R> };
      return async (event, context) => {
        invocations.set(name, (invocations.get(name) ?? 0) + 1);
        const start = performance.now();
        try {
          return await asFunction(name, () => handler(event, context));
        } finally {
          busy.set(name, (busy.get(name) ?? 0) + performance.now() - start);
        }
      };
    };
    const specs = Object.entries(functionSpecs) as [FunctionName, (typeof functionSpecs)[FunctionName]][];

    const routes: Route[] = [];
    const urlHandlers = new Map<string, Route>();
    for (const [name, spec] of specs) {
      if (!spec.routes && !spec.functionUrl) continue;
      const handler = await load<Parameters<Route['handler']>[0], Awaited<ReturnType<Route['handler']>>>(name);
      for (const routeKey of spec.routes ?? []) routes.push({ routeKey, functionName: name, timeoutSeconds: spec.timeoutSeconds, handler });
      if (spec.functionUrl)
        urlHandlers.set(name, { routeKey: '$default', functionName: name, timeoutSeconds: spec.timeoutSeconds, handler });
    }

    const schedules: Schedule[] = [];
    for (const [name, spec] of specs) {
      if (spec.schedule)
        schedules.push({
          name,
          expression: spec.schedule,
          timeoutSeconds: spec.timeoutSeconds,
          // Most runs of the stack never fire most schedules: their modules (PDFs, Parquet, Stripe) load on demand.
          handler: once(() => load<ScheduledInvocation, unknown>(name)),
        });
    }
    // Nothing runs before the tables exist: no schedule, request or message.
    await dynamoStarted;
    await createTables(dynamo, prefix);

    const scheduler = startScheduler(schedules, (name, error) => console.error(`schedule ${name} failed`, error), options.schedulesOnTime);
    stops.push(() => scheduler.stop());

    let refusing = false;
    const server: Server = await startGateway({
      port,
      refuseFor: () => (refusing ? 5 : undefined),
      routes,
      authorizer: await load('authorizer'),
      authorizerCacheTtlMs: options.authorizerCacheTtlMs ?? 0,
      cors: apiCors,
      // Function URLs live at /_url/<function>/..., POST /_local/schedules/<function> runs a schedule now, GET
      // /_local/mailbox lists the mail the local SMTP server took (the console's Mailbox page), and
      // GET / serves the dashboard (CloudFront's part in AWS), with config.json pointing it at this same origin.
      fallback: async (req, res, body) => {
        const url = new URL(req.url ?? '/', apiUrl);
        if (req.method === 'GET') {
          const name = url.pathname === '/' ? 'index.html' : url.pathname.slice(1);
          const file =
            name === 'config.json'
              ? { body: Buffer.from(JSON.stringify({ apiUrl: '' })), contentType: 'application/json' }
              : (await dashboard()).get(name);
          if (file) {
            res.writeHead(200, { 'content-type': file.contentType, 'cache-control': 'no-store' });
            res.end(file.body);
            return true;
          }
        }
        const mail = req.method === 'GET' ? mailboxAnswer(mailbox, url.pathname) : undefined;
        if (mail) {
          res.writeHead(mail.status, { 'content-type': mail.type, 'cache-control': 'no-store' });
          res.end(mail.body);
          return true;
        }
        const fn = /^\/_url\/([\w-]+)(\/.*)?$/.exec(url.pathname);
        const route = fn ? urlHandlers.get(fn[1]!) : undefined;
        if (route) {
          const result = await route.handler(
            functionUrlEvent(req, url, fn![2] ?? '/', body),
            lambdaContext(route.functionName, route.timeoutSeconds),
          );
          res.writeHead(result.statusCode ?? 200, result.headers as Record<string, string>);
          res.end(result.body ? Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8') : undefined);
          return true;
        }
        const job = /^\/_local\/schedules\/([\w-]+)$/.exec(url.pathname);
        if (job && req.method === 'POST' && schedules.some((x) => x.name === job[1])) {
          // ?time= runs it as if that instant had come (an invoice for this month, say), as tests do with runSchedule.
          const time = url.searchParams.get('time');
          const due = time === null ? new Date() : new Date(time);
          if (Number.isNaN(due.getTime())) {
            res.writeHead(400, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ code: 'VALIDATION_ERROR', message: 'time must be an ISO 8601 instant', field: 'time' }));
            return true;
          }
          const result = await scheduler.run(job[1]!, due);
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify(result ?? null));
          return true;
        }
        return false;
      },
    });
    let requests = 0;
    server.on('request', (_req, res: ServerResponse) => {
      requests += 1;
      res.once('close', () => (requests -= 1));
    });
    stops.push(
      () =>
        new Promise<void>((done) => {
          server.closeAllConnections();
          server.close(() => done());
        }),
    );

    const realConsumer = await load<SQSEvent, SQSBatchResponse>('consumer');
    const queueArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queues.usageQueueUrl, AttributeNames: ['QueueArn'] })))
      .Attributes!.QueueArn!;
    const consumer = startEventSourceMapping({
      sqs,
      queueUrl: queues.usageQueueUrl,
      queueArn,
      functionName: 'consumer',
      timeoutSeconds: functionSpecs.consumer.timeoutSeconds,
      handler: options.consumer ? options.consumer(realConsumer) : realConsumer,
      batchSize: options.consumerBatchSize ?? usageQueueSettings.batchSize,
      maxBatchingWindowMs: usageQueueSettings.maxBatchingWindowSeconds * 1000,
      concurrency: options.consumerConcurrency ?? 2,
      retryDelaySeconds: options.consumerRetryDelaySeconds,
    });
    stops.push(() => consumer.stop());

    // The worker queues, each consumed by the functions the catalog names, as many at once as their mappings allow.
    const workerQueues: { url: string; consumes: (spec: FunctionSpec) => boolean | undefined; settings: WorkerQueueSettings }[] = [
      { url: queues.webhookQueueUrl, consumes: (s) => s.consumesWebhookQueue, settings: { ...webhookQueueSettings, maxConcurrency: 1 } },
      { url: queues.reportQueueUrl, consumes: (s) => s.consumesReportQueue, settings: reportQueueSettings },
      { url: queues.emailQueueUrl, consumes: (s) => s.consumesEmailQueue, settings: { ...emailQueueSettings, maxConcurrency: 1 } },
    ];
    for (const { url, consumes, settings } of workerQueues) {
      const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
      for (const [name, spec] of specs.filter(([, s]) => consumes(s))) {
        const mapping = startEventSourceMapping({
          sqs,
          queueUrl: url,
          queueArn: arn,
          functionName: name,
          timeoutSeconds: spec.timeoutSeconds,
          handler: await load<SQSEvent, SQSBatchResponse>(name),
          batchSize: settings.batchSize,
          maxBatchingWindowMs: settings.maxBatchingWindowSeconds * 1000,
          concurrency: settings.maxConcurrency,
        });
        stops.push(() => mapping.stop());
      }
    }

    const reportStore = new DynamoStripeStore(documentClient(dynamo), (env as Record<string, string>).STRIPE_TABLE!);
    const runReport = async (due = new Date(), timeoutMs = 60_000): Promise<ReportRun> => {
      const plan = (await scheduler.run('usage-report', due)) as ReportPlan;
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const results = await reportStore.sliceResults(plan.runId);
        if (results.length === plan.slices) return { runId: plan.runId, slices: plan.slices, ...summarizeRun(results) };
        if (Date.now() > deadline) throw new Error(`report run ${plan.runId}: ${results.length} of ${plan.slices} slices reported`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };

    const depth = async (QueueUrl = queues.usageQueueUrl) => {
      const a = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
        }),
      );
      return Object.values(a.Attributes ?? {}).reduce((sum, v) => sum + Number(v), 0);
    };
    const unfinished = async (): Promise<Unfinished> => ({
      requests,
      jobs: scheduler.running(),
      usageMessages: await depth(),
      reportMessages: await depth(queues.reportQueueUrl),
      webhookMessages: await depth(queues.webhookQueueUrl),
    });
    /** Messages due now on a worker queue (a delayed retry is not: it waits for the next start). */
    const dueNow = async (QueueUrl: string) => {
      const a = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      return Object.values(a.Attributes ?? {}).reduce((sum, v) => sum + Number(v), 0);
    };
    const quiesce = async (timeoutMs = 120_000): Promise<Unfinished> => {
      refusing = true;
      const deadline = Date.now() + timeoutMs;
      const until = async (done: () => Promise<boolean>) => {
        while (Date.now() < deadline && !(await done())) await new Promise((r) => setTimeout(r, 100));
      };
      await until(async () => requests === 0);
      const timeUp = new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())).unref());
      await Promise.race([scheduler.stop(), timeUp]);
      // Jobs and requests add messages; the queues are emptied after them.
      await until(
        async () =>
          (await depth()) === 0 &&
          (await depth(queues.reportQueueUrl)) === 0 &&
          (await dueNow(queues.webhookQueueUrl)) === 0 &&
          (await dueNow(queues.emailQueueUrl)) === 0,
      );
      return unfinished();
    };

    if (stripe && urlHandlers.has('stripe-webhook'))
      stripe.setWebhook({ url: `${apiUrl}/_url/stripe-webhook`, secret: LOCAL_WEBHOOK_SECRET });

    return {
      apiUrl,
      env,
      stripe,
      eventBus,
      mailbox,
      functionUrls: Object.fromEntries([...urlHandlers.keys()].map((name) => [name, `${apiUrl}/_url/${name}`])),
      invocations: (name) => invocations.get(name) ?? 0,
      busyMs: (name) => busy.get(name) ?? 0,
      runSchedule: (name, due) => scheduler.run(name, due),
      runReport,
      dynamo,
      sqs,
      queues,
      consumer,
      quiesce,
      unfinished,
      drained: async (timeoutMs = 60_000) => {
        let deadline = Date.now() + timeoutMs;
        for (let left = await depth(), least = left; left > 0; left = await depth()) {
          if (left < least) [least, deadline] = [left, Date.now() + timeoutMs];
          if (Date.now() > deadline) throw new Error(`usage queue did not drain: ${left} messages, no fewer for ${timeoutMs} ms`);
          await new Promise((r) => setTimeout(r, 100));
        }
      },
      stop: async () => {
        for (const stop of stops.reverse()) await stop();
        settleAwsCalls();
      },
    };
  } catch (error) {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    throw error;
  }
}
