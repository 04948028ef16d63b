import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { buildLayer } from '../clients/lambda-extension/src/layer.js';
import { Meterline } from '../clients/node/src/index.js';
import { meterline } from '../clients/node/src/middy.js';
import { httpEvent } from '../local/http-event.js';
import { lambdaContext } from '../local/lambda.js';
import { startLambdaEnvironment } from '../local/lambda-environment.js';
import { freePort } from '../local/net.js';
import { latencies } from './report.js';

/**
 * A product's function with the metering middleware, timed per request, in a process that holds nothing else (run by
 * bench/integration.ts, which hosts Meterline at METERLINE_API_URL and passes a service key in METERLINE_API_KEY).
 * Prints its rows as one line of JSON.
 */
type Event = APIGatewayProxyEventV2;
type Result = APIGatewayProxyStructuredResultV2;
type Timed = (e: Event, c: ReturnType<typeof lambdaContext>) => Promise<Result>;

const apiUrl = process.env.METERLINE_API_URL!;
const apiKey = process.env.METERLINE_API_KEY!;
const requests = 5_000;
const eventOf = (tenant: string) => ({ ...httpEvent({ routeKey: 'GET /things/{id}' }), headers: { 'x-tenant': tenant } });
const work = async (): Promise<Result> => ({ statusCode: 200, body: 'ok' });

async function time(handler: Timed, n = requests, event: Event = eventOf('bench')) {
  for (let i = 0; i < 200; i++) await handler(event, lambdaContext('product'));
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await handler(event, lambdaContext('product'));
    samples.push((performance.now() - t) * 1000);
  }
  return latencies(samples);
}

const metered = (client: Meterline, flush: boolean): Timed =>
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

/**
 * The middleware as a Lambda function runs it with the Meterline extension: the layer's executable started by the local
 * Lambda environment (frozen between invocations), the client writing each invocation's event to its local socket
 * before the answer. Timed inside the handler, as the other rows; the environment's own overhead is not in it.
 */
async function withExtension(event: Event, n = 2_000) {
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

// A client per row: a row's 5,200 events fill a buffer the timing loop gives no turn to send from.
const answering = new Meterline({ apiKey, baseUrl: apiUrl });
const prepaid = new Meterline({ apiKey, baseUrl: apiUrl });
const unreachable = new Meterline({ apiKey, baseUrl: 'http://127.0.0.1:9', maxAttempts: 1, onDropped: () => undefined });
const rows = [
  { case: 'middy handler, no metering', ...(await time(middy<Event, Result>().handler(work))) },
  { case: 'metered, Meterline answering', ...(await time(metered(answering, false))) },
  {
    case: 'metered, prepaid tenant (balance in the quota answer)',
    ...(await time(metered(prepaid, false), requests, eventOf('bench-prepaid'))),
  },
  { case: 'metered, Meterline unreachable', ...(await time(metered(unreachable, false))) },
  { case: 'metered + flush per invocation (Lambda), answering', ...(await time(metered(answering, true), 200)) },
  { case: 'metered + Meterline extension (Lambda), answering', ...(await withExtension(eventOf('bench'))) },
];
await answering.shutdown();
await prepaid.shutdown();
await unreachable.shutdown();
console.log(JSON.stringify(rows));
