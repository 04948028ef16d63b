import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildLayer } from '../../clients/lambda-extension/src/layer.js';
import { Meterline } from '../../clients/node/src/index.js';
import { meterline } from '../../clients/node/src/middy.js';
import { httpEvent } from '../../local/http-event.js';
import { type LambdaEnvironment, startLambdaEnvironment } from '../../local/lambda-environment.js';
import { freePort } from '../../local/net.js';
import type { LocalStack } from '../../local/stack.js';
import { issueApiKey } from '../../shared/tenancy/api-keys.js';
import { EXTERNAL_COVERAGE_DIR, recordNodeCoverage } from '../support/external-coverage.js';
import { api, createTenant, directoryOf, eventually, startTestStack } from '../support/stack.js';

type Event = APIGatewayProxyEventV2;
type Result = APIGatewayProxyStructuredResultV2;

const usage = async (stack: LocalStack, key: string): Promise<number> =>
  (await api(stack, 'GET', '/v1/usage/current', key)).body.meters.find((m: { meter: string }) => m.meter === 'api_calls')?.events ?? 0;

/**
 * The extension as Lambda runs it: the layer's executable, built as the CDK construct builds it, started by the local
 * Lambda environment (Runtime and Extensions APIs, frozen between invocations), beside a middy handler metered with the
 * Node client, against the local stack.
 */
describe('Meterline Lambda extension in the local Lambda environment', () => {
  let stack: LocalStack;
  let service: string;
  let layer: string;
  // When the run measures coverage, the extension's processes write theirs here (NODE_V8_COVERAGE) as they exit.
  const v8Coverage = EXTERNAL_COVERAGE_DIR && mkdtempSync(join(tmpdir(), 'meterline-extension-coverage-'));
  const cleanup: (() => Promise<void> | void)[] = [];

  beforeAll(async () => {
    stack = await startTestStack();
    service = (await issueApiKey(directoryOf(stack), { service: true }, 'product', Date.now())).token;
    layer = buildLayer(mkdtempSync(join(tmpdir(), 'meterline-layer-')), { debug: Boolean(v8Coverage) });
  });
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });
  afterAll(async () => {
    if (v8Coverage) {
      recordNodeCoverage(v8Coverage);
      rmSync(v8Coverage, { recursive: true, force: true });
    }
    rmSync(layer, { recursive: true, force: true });
    await stack?.stop();
  });

  /** A product function metered per request, and its environment with the extension (sending to `apiUrl`). */
  async function productFunction(
    tenant: string,
    apiUrl: string,
    o: {
      flushIntervalMs?: number;
      inside?: (extensionAddress: string) => Promise<void>;
      client?: (extensionAddress: string) => Meterline;
    } = {},
  ) {
    const { flushIntervalMs = 50, inside } = o;
    const extensionAddress = `127.0.0.1:${await freePort()}`;
    const journalDir = mkdtempSync(join(tmpdir(), 'meterline-journal-'));
    const client = o.client?.(extensionAddress) ?? new Meterline({ apiKey: service, baseUrl: stack.apiUrl, extensionAddress });
    const handler = middy<Event, Result>()
      .use(meterline<Event, Result>({ client, meter: 'api_calls', tenant: () => tenant }))
      .handler(async () => {
        await inside?.(extensionAddress);
        return { statusCode: 200, body: 'ok' };
      });
    const env = await startLambdaEnvironment({
      functionName: 'product',
      env: {
        METERLINE_API_URL: apiUrl,
        METERLINE_API_KEY: service,
        METERLINE_EXTENSION_ADDRESS: extensionAddress,
        METERLINE_EXTENSION_DIR: journalDir,
        // By default batches leave 50 ms after their first event, so a batch is in flight at the next invocation.
        METERLINE_FLUSH_INTERVAL_MS: String(flushIntervalMs),
        ...(v8Coverage ? { NODE_V8_COVERAGE: v8Coverage } : {}),
      },
      extensions: [{ name: 'meterline', command: join(layer, 'extensions', 'meterline') }],
      handler: (event) => handler(event as Event, {} as never),
    });
    cleanup.push(
      () => env.stop(),
      () => rmSync(journalDir, { recursive: true, force: true }),
    );
    return { env, client };
  }

  const invokeTimes = async (env: LambdaEnvironment, n: number) => {
    for (let i = 0; i < n; i++) {
      const out = await env.invoke({ ...httpEvent({ routeKey: 'GET /things' }) });
      expect(out.error).toBeUndefined();
      expect(out.response).toMatchObject({ statusCode: 200 });
    }
  };

  it('takes each invocation’s event over localhost, keeps what it has not sent, and sends the rest at SHUTDOWN', async () => {
    const key = await createTenant(stack, 'ext-shutdown');
    // Batches leave at a minute's age: the 20 events stay with the extension, across invocations, until SHUTDOWN.
    const { env, client } = await productFunction('ext-shutdown', stack.apiUrl, { flushIntervalMs: 60_000 });
    await invokeTimes(env, 20);
    await stack.drained();
    expect(await usage(stack, key)).toBe(0);

    const shutdown = await env.shutdown('spindown');
    expect(shutdown).toMatchObject({ exited: ['meterline'], killed: [] });
    expect(shutdown.ms).toBeLessThan(2_000);
    // Every event went to the extension (none to Meterline directly); the function holds none. The extension answers a
    // hand-over once it has journaled it, which may be after the invocation returned: at nice 19 on a busy machine the
    // environment can be frozen first, and then the last answer comes when SHUTDOWN thaws it.
    await client.settled();
    expect(client.stats()).toMatchObject({ tracked: 20, accepted: 20, pending: 0, requests: 0 });
    await stack.drained();
    expect(await usage(stack, key)).toBe(20);
  });

  it('runs at the lowest priority, so a hand-over never preempts the handler that wrote it', async () => {
    await createTenant(stack, 'ext-priority');
    const { env } = await productFunction('ext-priority', stack.apiUrl);
    await invokeTimes(env, 1);
    expect(getPriority(env.pid('meterline'))).toBe(19);
  });

  it('killed mid-batch and restarted, it sends again what it journaled: every event counted once', async () => {
    const key = await createTenant(stack, 'ext-crash');
    // In front of the API: forwards each batch, and while `holding`, keeps Meterline's answer from the extension.
    let holding = true;
    let held = 0;
    let duplicates = 0;
    const proxy: Server = createServer(async (req, res) => {
      const parts: Buffer[] = [];
      for await (const part of req) parts.push(part as Buffer);
      const answer = await fetch(`${stack.apiUrl}${req.url}`, {
        method: req.method ?? 'POST',
        headers: { authorization: req.headers.authorization ?? '', 'content-type': 'application/json' },
        body: Buffer.concat(parts),
      });
      const text = await answer.text();
      if (holding) {
        held += 1;
        return;
      }
      duplicates += (JSON.parse(text) as { duplicates?: number }).duplicates ?? 0;
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(text);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise<void>((resolve) => (proxy.closeAllConnections(), proxy.close(() => resolve()))));
    const { env, client } = await productFunction('ext-crash', `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`);

    await invokeTimes(env, 10);
    // The extension runs at the lowest priority: while the suite keeps both cores busy, its first send can take a while.
    await eventually(
      async () => held,
      (n) => n > 0,
      1_200,
    );
    // Meterline has taken a batch the extension never heard back about; the extension dies before it does.
    await env.crash('meterline');
    holding = false;
    // The next invocation finds it gone: Lambda's reset runs Init again, and the new process reads the journal.
    await invokeTimes(env, 5);
    expect(env.running('meterline')).toBe(true);
    expect((await env.shutdown()).killed).toEqual([]);

    await stack.drained();
    expect(client.stats()).toMatchObject({ tracked: 15, dropped: 0, pending: 0 });
    // The held batch went again from the journal, and Meterline knew it by its ids.
    expect(duplicates).toBeGreaterThan(0);
    expect(await usage(stack, key)).toBe(15);
  });

  it('when no extension listens, the client sends to Meterline directly with the same ids', async () => {
    const key = await createTenant(stack, 'ext-absent');
    const client = new Meterline({ apiKey: service, baseUrl: stack.apiUrl, extensionAddress: `127.0.0.1:${await freePort()}` });
    for (let i = 0; i < 3; i++) client.track({ meter: 'api_calls', tenant: 'ext-absent' });
    await client.flush();
    expect(client.stats()).toMatchObject({ accepted: 3, dropped: 0 });
    await stack.drained();
    expect(await usage(stack, key)).toBe(3);
  });

  it('refuses a client under another key, and a batch without ids, with a stable code and the field', async () => {
    const answers: unknown[] = [];
    /** One connection: the lines written, and the extension's answers until it has answered `expected` of them or closed. */
    const converse = (address: string, lines: unknown[], expected: number) =>
      new Promise<void>((resolve) => {
        const [host, port] = address.split(':');
        const socket = connect({ host: host!, port: Number(port) });
        let text = '';
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => {
          text += chunk;
          const complete = text.split('\n').filter(Boolean);
          if (complete.length >= expected) {
            answers.push(...complete.map((l) => JSON.parse(l)));
            socket.destroy();
            resolve();
          }
        });
        socket.on('close', () => resolve());
        for (const line of lines) socket.write(`${JSON.stringify(line)}\n`);
      });
    const inside = async (address: string) => {
      await converse(address, [{ authorization: 'Bearer another-key' }, { seq: 1, events: [{ id: 'a', meter: 'api_calls' }] }], 1);
      await converse(address, [{ authorization: `Bearer ${service}` }, { seq: 2, events: [{ meter: 'api_calls' }] }], 1);
    };
    const { env } = await productFunction('ext-key', stack.apiUrl, { inside });
    await invokeTimes(env, 1);
    expect(answers).toEqual([
      expect.objectContaining({ code: 'EXTENSION_KEY_MISMATCH', field: 'authorization' }),
      expect.objectContaining({ seq: 2, code: 'INVALID_EVENTS', field: 'events.0.id' }),
    ]);
  });

  it('a client under another key is told so once and sends to Meterline directly', async () => {
    const key = await createTenant(stack, 'ext-other-key');
    const other = (await issueApiKey(directoryOf(stack), { service: true }, 'other product', Date.now())).token;
    const warnings: unknown[] = [];
    const { env, client } = await productFunction('ext-other-key', stack.apiUrl, {
      client: (extensionAddress) =>
        new Meterline({
          apiKey: other,
          baseUrl: stack.apiUrl,
          extensionAddress,
          logger: { warn: (m, d) => warnings.push({ m, ...d }), error: () => undefined },
        }),
    });
    await invokeTimes(env, 3);
    expect(warnings).toEqual([expect.objectContaining({ code: 'EXTENSION_KEY_MISMATCH' })]);
    await env.shutdown();
    // The first invocation's event was written to the extension, which refused it after the invocation answered: the
    // client sends it directly then, and a loaded machine may not have sent it yet.
    await client.settled();
    await stack.drained();
    expect(await usage(stack, key)).toBe(3);
  });
});
