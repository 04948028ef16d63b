import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { meterline as expressMeterline } from '../../clients/node/src/express.js';
import { Meterline } from '../../clients/node/src/index.js';
import { meterline as middyMeterline } from '../../clients/node/src/middy.js';
import { httpEvent } from '../../local/http-event.js';
import { lambdaContext } from '../../local/lambda.js';
import type { LocalStack } from '../../local/stack.js';
import { issueApiKey } from '../../shared/tenancy/api-keys.js';
import { type Fault, startFaultProxy } from '../support/faults.js';
import { api, createAdminKey, createTenant, directoryOf, startTestStack } from '../support/stack.js';

type Event = APIGatewayProxyEventV2;
type Result = APIGatewayProxyStructuredResultV2;

const events = async (stack: LocalStack, key: string, meter: string): Promise<number> =>
  (await api(stack, 'GET', '/v1/usage/current', key)).body.meters.find((m: { meter: string }) => m.meter === meter)?.events ?? 0;

/** The product's own authentication, standing in: the tenant is a header the product trusts. */
const tenantOf = (headers: Record<string, string | undefined> | undefined) => headers?.['x-tenant'];

describe('metering middleware against the local stack', () => {
  let stack: LocalStack;
  let admin: string;
  let service: string;
  const keys: Record<string, string> = {};

  beforeAll(async () => {
    stack = await startTestStack();
    admin = await createAdminKey(stack);
    for (const t of ['shop-a', 'shop-b', 'quota-at', 'quota-below', 'quota-above', 'quota-open']) keys[t] = await createTenant(stack, t);
    service = (await issueApiKey(directoryOf(stack), { service: true }, 'product', Date.now())).token;
  });
  afterAll(() => stack?.stop());

  /** Puts a quota of 10 api_calls on a tenant and records `usage` of them already. */
  async function usageOf(tenant: string, usage: number) {
    await api(stack, 'PUT', `/v1/admin/tenants/${tenant}/quotas/api_calls`, admin, { limit: '10' });
    if (usage > 0) {
      const now = new Date().toISOString();
      await api(
        stack,
        'POST',
        '/v1/events',
        keys[tenant],
        Array.from({ length: usage }, (_, i) => ({ id: `seed-${i}`, meter: 'api_calls', timestamp: now })),
      );
      await stack.drained();
    }
  }

  it('middy: one event per handled invocation through faults, errors included, counted exactly', async () => {
    const pattern: Fault[] = ['pass', { status: 503 }, 'drop-after', { delayMs: 1_500 }, 'drop-before'];
    const proxy = await startFaultProxy(
      () => stack.apiUrl,
      (n) => pattern[n % pattern.length]!,
    );
    const client = new Meterline({
      apiKey: service,
      baseUrl: proxy.url,
      minBackoffMs: 10,
      maxBackoffMs: 200,
      requestTimeoutMs: 1_000,
      maxAttempts: 50,
    });
    const handler = middy<Event, Result>()
      .use(middyMeterline<Event, Result>({ client, meter: 'api_calls', tenant: (e) => tenantOf(e.headers) }))
      .handler(async (event) => {
        if (event.rawPath === '/boom') throw new Error('boom');
        return { statusCode: 200, body: 'ok' };
      });
    let errors = 0;
    for (let i = 0; i < 20; i++) {
      const tenant = i % 2 ? 'shop-a' : 'shop-b';
      const event = { ...httpEvent({ routeKey: i % 10 === 9 ? 'GET /boom' : 'GET /things/{id}' }), headers: { 'x-tenant': tenant } };
      await handler(event, lambdaContext('product')).catch(() => (errors += 1));
    }
    // Unmetered: no tenant.
    await handler(httpEvent({ routeKey: 'GET /things/{id}' }), lambdaContext('product'));
    await proxy.close();
    await stack.drained();
    expect(errors).toBe(2);
    expect(client.stats()).toMatchObject({ tracked: 20, pending: 0, dropped: 0, rejected: 0 });
    expect(await events(stack, keys['shop-a']!, 'api_calls')).toBe(10);
    expect(await events(stack, keys['shop-b']!, 'api_calls')).toBe(10);
  });

  it('express: one event per response with status and route, through a stack restart between flushes', async () => {
    const prefix = stack.env.TENANTS_TABLE!.replace(/-tenants$/, '');
    const port = Number(new URL(stack.apiUrl).port);
    const sent: Record<string, unknown>[] = [];
    const client = new Meterline({
      apiKey: service,
      baseUrl: stack.apiUrl,
      flushIntervalMs: 20,
      minBackoffMs: 20,
      maxBackoffMs: 300,
      maxAttempts: 100,
    });
    const app = express();
    const metering = expressMeterline({
      client,
      meter: 'api_calls',
      tenant: (req) => req.get('x-tenant'),
      properties: (h) => (sent.push({ route: h.route, status: h.statusCode }), { route: h.route, status: h.statusCode }),
    });
    app.use(metering);
    app.get('/things/:id', (req, res) => void res.status(req.params.id === 'missing' ? 404 : 200).json({ id: req.params.id }));
    const server = app.listen(0);
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const call = (path: string, tenant = 'shop-a') => fetch(`${base}${path}`, { headers: { 'x-tenant': tenant } }).then((r) => r.status);

    for (let i = 0; i < 10; i++) expect(await call(`/things/${i}`)).toBe(200);
    expect(await call('/things/missing')).toBe(404);
    await client.flush();
    await stack.stop();
    // Meterline is down: the product keeps answering; the events wait in the client's buffer.
    for (let i = 0; i < 9; i++) expect(await call(`/things/${i}`, 'shop-b')).toBe(200);
    stack = await startTestStack({ prefix, port });
    await client.shutdown();
    server.close();
    await stack.drained();
    expect(sent).toContainEqual({ route: 'GET /things/:id', status: 404 });
    expect(metering.metering.stats().metered).toBe(20);
    expect(client.stats()).toMatchObject({ tracked: 20, pending: 0, dropped: 0 });
    expect(await events(stack, keys['shop-a']!, 'api_calls')).toBe(10 + 11);
    expect(await events(stack, keys['shop-b']!, 'api_calls')).toBe(10 + 9);
  });

  describe('hard quota of 10 api_calls', () => {
    const handlerFor = (client: Meterline, failOpen?: boolean) =>
      middy<Event, Result>()
        .use(
          middyMeterline<Event, Result>({
            client,
            meter: 'api_calls',
            tenant: (e) => tenantOf(e.headers),
            quota: { cacheTtlMs: 60_000 },
            ...(failOpen === undefined ? {} : { failOpen }),
          }),
        )
        .handler(async () => ({ statusCode: 200, body: 'done' }));
    const request = (tenant: string) => ({ ...httpEvent({ routeKey: 'POST /jobs' }), headers: { 'x-tenant': tenant } });

    it('lets the request through just below the quota (9 used), then answers 429 at it', async () => {
      await usageOf('quota-below', 9);
      const client = new Meterline({ apiKey: service, baseUrl: stack.apiUrl });
      const handler = handlerFor(client);
      expect((await handler(request('quota-below'), lambdaContext())).statusCode).toBe(200);
      // The cached answer plus this process's own request: the 11th is refused without asking again.
      const refused = await handler(request('quota-below'), lambdaContext());
      expect(refused.statusCode).toBe(429);
      expect(refused.headers).toMatchObject({ 'x-quota-limit': '10', 'x-quota-remaining': '0' });
      await stack.drained();
      expect(await events(stack, keys['quota-below']!, 'api_calls')).toBe(10);
    });

    it('answers 429 at the quota (10 used) and above it (11 used), with Retry-After and quota headers', async () => {
      await usageOf('quota-at', 10);
      await usageOf('quota-above', 11);
      const client = new Meterline({ apiKey: service, baseUrl: stack.apiUrl });
      const handler = handlerFor(client);
      for (const [tenant, usage] of [
        ['quota-at', '10'],
        ['quota-above', '11'],
      ] as const) {
        const res = await handler(request(tenant), lambdaContext());
        expect(res.statusCode).toBe(429);
        const headers = res.headers as Record<string, string>;
        expect(headers).toMatchObject({ 'x-quota-limit': '10', 'x-quota-remaining': '0' });
        const reset = Date.parse(headers['x-quota-reset']!);
        expect(Math.abs(Number(headers['retry-after']) - (reset - Date.now()) / 1000)).toBeLessThanOrEqual(2);
        expect(JSON.parse(res.body as string)).toMatchObject({ code: 'QUOTA_EXCEEDED', usage, limit: '10', remaining: '0' });
      }
      await client.flush();
      expect(client.stats().tracked).toBe(0);
    });

    it('fails open when Meterline is unreachable (logging and counting), or closed when told to', async () => {
      await usageOf('quota-open', 10);
      const warnings: string[] = [];
      const unreachable = new Meterline({ apiKey: service, baseUrl: 'http://127.0.0.1:9', maxAttempts: 1, onDropped: () => undefined });
      const middleware = middyMeterline<Event, Result>({
        client: unreachable,
        meter: 'api_calls',
        tenant: (e) => tenantOf(e.headers),
        quota: {},
        logger: { warn: (m) => warnings.push(m), error: () => undefined },
      });
      const open = middy<Event, Result>()
        .use(middleware)
        .handler(async () => ({ statusCode: 200, body: 'done' }));
      expect((await open(request('quota-open'), lambdaContext())).statusCode).toBe(200);
      expect(warnings).toEqual(['quota check failed; letting the request through (failOpen)']);
      expect(middleware.metering.stats()).toMatchObject({ failedOpen: 1, metered: 1 });
      const closed = handlerFor(unreachable, false);
      const refused = await closed(request('quota-open'), lambdaContext());
      expect(refused).toMatchObject({ statusCode: 503 });
      expect(JSON.parse(refused.body as string)).toMatchObject({ code: 'QUOTA_UNAVAILABLE' });
    });
  });
});
