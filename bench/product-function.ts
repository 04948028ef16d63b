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
import { sleep } from '../shared/kernel/retry.js';
import { latencies } from './report.js';

/**
 * A product's function with the metering middleware, timed per request, in a process that holds nothing else (run by
 * bench/integration.ts, which hosts Meterline at METERLINE_API_URL and passes a service key in METERLINE_API_KEY and the
 * tenants' own keys in METERLINE_READ_KEYS).
 * Prints its rows as one line of JSON.
 */
type Event = APIGatewayProxyEventV2;
type Result = APIGatewayProxyStructuredResultV2;
type Timed = (e: Event, c: ReturnType<typeof lambdaContext>) => Promise<Result>;

const apiUrl = process.env.METERLINE_API_URL!;
const apiKey = process.env.METERLINE_API_KEY!;
/** Each tenant's own key, which reads its usage (a service key only posts events and checks). */
const readKeys = JSON.parse(process.env.METERLINE_READ_KEYS!) as Record<string, string>;
const requests = 5_000;
const eventOf = (tenant: string) => ({ ...httpEvent({ routeKey: 'GET /things/{id}' }), headers: { 'x-tenant': tenant } });
const work = async (): Promise<Result> => ({ statusCode: 200, body: 'ok' });

/** Per-request times, and how many of those requests the kernel took the CPU from (involuntary context switches). */
class Samples {
  private readonly times: number[] = [];
  private readonly preempted: boolean[] = [];

  async time<T>(request: () => Promise<T>): Promise<T> {
    const switches = process.resourceUsage().involuntaryContextSwitches;
    const t = performance.now();
    const result = await request();
    this.times.push((performance.now() - t) * 1000);
    this.preempted.push(process.resourceUsage().involuntaryContextSwitches > switches);
    return result;
  }

  /** The figures of the samples after the first `warmUp`. */
  figures(warmUp: number) {
    const preempted = this.preempted.slice(warmUp).filter(Boolean).length;
    return { ...latencies(this.times.slice(warmUp)), preempted, samples: this.times.length - warmUp };
  }
}

async function time(handler: Timed, n = requests, event: Event = eventOf('bench')) {
  for (let i = 0; i < 200; i++) await handler(event, lambdaContext('product'));
  const samples = new Samples();
  for (let i = 0; i < n; i++) await samples.time(() => handler(event, lambdaContext('product')));
  return samples.figures(0);
}

/**
 * Waits until Meterline has counted every event `client` sent for `tenant`. The local stack shares this machine's cores
 * with the product's function, which Meterline never does in production: a row timed while it still counts the last
 * row's thousands of events measures that contention.
 */
async function drained(client: Meterline, tenant: string) {
  await client.flush();
  const sent = client.stats().accepted;
  const deadline = Date.now() + 600_000;
  while (Date.now() < deadline) {
    const res = await fetch(`${apiUrl}/v1/usage/current`, { headers: { authorization: `Bearer ${readKeys[tenant]}` } });
    if (!res.ok) throw new Error(`GET /v1/usage/current answered ${res.status}: ${await res.text()}`);
    const body = (await res.json()) as { meters: { meter: string; events: number }[] };
    if ((body.meters.find((m) => m.meter === 'api_calls')?.events ?? 0) >= sent) return;
    await sleep(200);
  }
  throw new Error(`Meterline did not count ${sent} events of ${tenant} within 10 minutes`);
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
  const samples = new Samples();
  const env = await startLambdaEnvironment({
    functionName: 'product',
    env: {
      METERLINE_API_URL: apiUrl,
      METERLINE_API_KEY: apiKey,
      METERLINE_EXTENSION_ADDRESS: extensionAddress,
      METERLINE_EXTENSION_DIR: journalDir,
    },
    extensions: [{ name: 'meterline', command: join(layer, 'extensions', 'meterline') }],
    handler: (e, context) => samples.time(() => handler(e as Event, context)),
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
  return samples.figures(200);
}

// A client per row: a row's 5,200 events fill a buffer the timing loop gives no turn to send from.
const answering = new Meterline({ apiKey, baseUrl: apiUrl });
const prepaid = new Meterline({ apiKey, baseUrl: apiUrl });
const unreachable = new Meterline({ apiKey, baseUrl: 'http://127.0.0.1:9', maxAttempts: 1, onDropped: () => undefined });
const rows = [{ case: 'middy handler, no metering', ...(await time(middy<Event, Result>().handler(work))) }];
rows.push({ case: 'metered, Meterline answering', ...(await time(metered(answering, false))) });
await drained(answering, 'bench');
rows.push({
  case: 'metered, prepaid tenant (balance in the quota answer)',
  ...(await time(metered(prepaid, false), requests, eventOf('bench-prepaid'))),
});
await drained(prepaid, 'bench-prepaid');
rows.push({ case: 'metered, Meterline unreachable', ...(await time(metered(unreachable, false))) });
rows.push({ case: 'metered + flush per invocation (Lambda), answering', ...(await time(metered(answering, true), 200)) });
await drained(answering, 'bench');
rows.push({ case: 'metered + Meterline extension (Lambda), answering', ...(await withExtension(eventOf('bench'))) });
await answering.shutdown();
await prepaid.shutdown();
await unreachable.shutdown();
console.log(JSON.stringify(rows));
