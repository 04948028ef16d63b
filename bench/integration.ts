import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { buildLayer } from '../clients/lambda-extension/src/layer.js';
import { Meterline } from '../clients/node/src/index.js';
import { meterline } from '../clients/node/src/middy.js';
import { startDynamoDbLocal } from '../local/dynamodb-local.js';
import { httpEvent } from '../local/http-event.js';
import { lambdaContext } from '../local/lambda.js';
import { startLambdaEnvironment } from '../local/lambda-environment.js';
import { freePort } from '../local/net.js';
import { startSqsLocal } from '../local/sqs-local.js';
import { startLocalStack } from '../local/stack.js';
import { seedMeters } from '../shared/metering/seed-meters.js';
import { documentClient } from '../shared/platform/dynamo/client.js';
import { DynamoTenantDirectory } from '../shared/tenancy/adapters/tenant-directory.js';
import { issueApiKey } from '../shared/tenancy/api-keys.js';
import { latencies, printTable } from './report.js';

type Event = APIGatewayProxyEventV2;
type Result = APIGatewayProxyStructuredResultV2;

/** Seed 2's ceiling for what usage tracking may add to a request. */
const CEILING_MS = 10;

/**
 * What the metering middleware adds to a request (a middy handler in process, the quota checked from its
 * cache, the event handed to the client's buffer), with Meterline answering (for a prepaid tenant too, whose
 * credit standing rides in the same cached answer) and unreachable; and how many
 * events one core of the client batches and serializes per second.
 */
export async function integration() {
  const dynamo = await startDynamoDbLocal();
  const sqs = await startSqsLocal();
  const stack = await startLocalStack({ dynamoEndpoint: dynamo.endpoint, sqsEndpoint: sqs.endpoint });
  try {
    const directory = new DynamoTenantDirectory(documentClient(stack.dynamo), stack.env.TENANTS_TABLE!);
    await directory.createTenant({ id: 'bench', name: 'bench', createdAt: new Date().toISOString() });
    for (const meter of seedMeters) await directory.putMeter('bench', meter);
    const admin = (await issueApiKey(directory, { admin: true }, 'bench', Date.now())).token;
    await fetch(`${stack.apiUrl}/v1/admin/tenants/bench/quotas/api_calls`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: '{"limit":"1000000000"}',
    });
    // A tenant on prepaid-only terms: its quota checks carry its credit standing, priced from its open period.
    await directory.createTenant({ id: 'bench-prepaid', name: 'bench-prepaid', createdAt: new Date().toISOString() });
    for (const meter of seedMeters) await directory.putMeter('bench-prepaid', meter);
    const adminCall = (path: string, body: object) =>
      fetch(`${stack.apiUrl}${path}`, {
        method: path.endsWith('subscription') ? 'PUT' : 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    await adminCall('/v1/admin/tenants/bench-prepaid/subscription', { planId: 'base-199', prepaid: { overdraft: '0' } });
    await adminCall('/v1/admin/tenants/bench-prepaid/credits', { amount: '1000000000', source: 'manual' });
    const service = (await issueApiKey(directory, { service: true }, 'bench', Date.now())).token;

    const requests = 5_000;
    const eventOf = (tenant: string) => ({ ...httpEvent({ routeKey: 'GET /things/{id}' }), headers: { 'x-tenant': tenant } });
    const work = async (): Promise<Result> => ({ statusCode: 200, body: 'ok' });
    const time = async (
      handler: (e: Event, c: ReturnType<typeof lambdaContext>) => Promise<Result>,
      n = requests,
      event: Event = eventOf('bench'),
    ) => {
      for (let i = 0; i < 200; i++) await handler(event, lambdaContext('product'));
      const samples: number[] = [];
      for (let i = 0; i < n; i++) {
        const t = performance.now();
        await handler(event, lambdaContext('product'));
        samples.push((performance.now() - t) * 1000);
      }
      return latencies(samples);
    };
    const metered = (client: Meterline, flush: boolean) =>
      middy<Event, Result>()
        .use(
          meterline<Event, Result>({
            client,
            meter: 'api_calls',
            tenant: (e) => e.headers['x-tenant'],
            quota: {},
            flush,
            logger: { warn: () => undefined, error: () => undefined },
          }),
        )
        .handler(work);

    const bare = await time(middy<Event, Result>().handler(work));
    const answering = new Meterline({ apiKey: service, baseUrl: stack.apiUrl });
    const unreachable = new Meterline({ apiKey: service, baseUrl: 'http://127.0.0.1:9', maxAttempts: 1, onDropped: () => undefined });
    const rows = [
      { case: 'middy handler, no metering', ...bare },
      { case: 'metered, Meterline answering', ...(await time(metered(answering, false))) },
      {
        case: 'metered, prepaid tenant (balance in the quota answer)',
        ...(await time(metered(answering, false), requests, eventOf('bench-prepaid'))),
      },
      { case: 'metered, Meterline unreachable', ...(await time(metered(unreachable, false))) },
      { case: 'metered + flush per invocation (Lambda), answering', ...(await time(metered(answering, true), 200)) },
      {
        case: 'metered + Meterline extension (Lambda), answering',
        ...(await withExtension(stack.apiUrl, service, metered, eventOf('bench'))),
      },
    ];
    await answering.shutdown();
    await unreachable.shutdown();
    printTable(
      `Metering middleware per request (in process, quota checked from its cache; seed 2's ceiling: ${CEILING_MS} ms = ${CEILING_MS * 1000} µs)`,
      rows.map((r) => ({
        case: r.case,
        'p50 µs': Math.round(r.p50),
        'p99 µs': Math.round(r.p99),
        'p50 overhead µs': Math.round(r.p50 - bare.p50),
      })),
    );

    // The client alone: track() + batching + JSON, with a transport that answers at once.
    const total = 200_000;
    const instant: typeof fetch = async (_url, init) => {
      const sent = JSON.parse(String(init?.body)) as unknown[];
      const results = sent.map((_, index) => ({ index, status: 'accepted' }));
      return new Response(JSON.stringify({ accepted: sent.length, duplicates: 0, rejected: 0, failed: 0, results }), { status: 202 });
    };
    const client = new Meterline({ apiKey: 'k', baseUrl: 'http://meterline.invalid', fetch: instant, maxBufferedEvents: total });
    const started = performance.now();
    const cpu = process.cpuUsage();
    for (let i = 0; i < total; i++)
      client.track({ meter: 'api_calls', tenant: 'bench', properties: { route: 'GET /things/{id}', status: 200 } });
    await client.flush();
    const used = process.cpuUsage(cpu);
    const seconds = (performance.now() - started) / 1000;
    printTable('Client throughput (track, batch, serialize; transport answers at once)', [
      {
        events: total,
        'events/s': Math.round(total / seconds),
        'events/s per core (CPU time)': Math.round(total / ((used.user + used.system) / 1e6)),
        'µs per track()': Math.round(((seconds * 1e6) / total) * 100) / 100,
      },
    ]);
  } finally {
    await stack.stop();
    await sqs.stop();
    await dynamo.stop();
  }
}

/**
 * The middleware as a Lambda function runs it with the Meterline extension: the layer's executable started by the local
 * Lambda environment (frozen between invocations), the client writing each invocation's event to its local socket
 * before the answer. Timed inside the handler, as the other rows; the environment's own overhead is not in it.
 */
async function withExtension(
  apiUrl: string,
  apiKey: string,
  metered: (client: Meterline, flush: boolean) => (e: Event, c: ReturnType<typeof lambdaContext>) => Promise<Result>,
  event: Event,
  n = 2_000,
) {
  const layer = buildLayer(mkdtempSync(join(tmpdir(), 'meterline-layer-')));
  const journalDir = mkdtempSync(join(tmpdir(), 'meterline-journal-'));
  const extensionAddress = `127.0.0.1:${await freePort()}`;
  const handler = metered(new Meterline({ apiKey, baseUrl: apiUrl, extensionAddress }), true);
  const samples: number[] = [];
  const env = await startLambdaEnvironment({
    functionName: 'product',
    env: {
      METERLINE_API_URL: apiUrl,
      METERLINE_API_KEY: apiKey,
      METERLINE_EXTENSION_ADDRESS: extensionAddress,
      METERLINE_EXTENSION_DIR: journalDir,
    },
    extensions: [{ name: 'meterline', command: join(layer, 'extensions', 'meterline') }],
    handler: async (e, context) => {
      const t = performance.now();
      const result = await handler(e as Event, context);
      samples.push((performance.now() - t) * 1000);
      return result;
    },
  });
  try {
    for (let i = 0; i < 200 + n; i++) {
      const out = await env.invoke(event);
      if (out.error) throw new Error(`invocation failed: ${out.error.errorType} ${out.error.errorMessage}`);
    }
    const { exited } = await env.shutdown();
    if (!exited.includes('meterline')) throw new Error('the extension did not finish within the Shutdown phase');
  } finally {
    await env.stop();
    rmSync(layer, { recursive: true, force: true });
    rmSync(journalDir, { recursive: true, force: true });
  }
  return latencies(samples.slice(200));
}
