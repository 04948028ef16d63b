import type { AddressInfo } from 'node:net';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { meterline as expressMeterline } from '../../clients/node/src/express.js';
import { Meterline } from '../../clients/node/src/index.js';
import { meterline as middyMeterline } from '../../clients/node/src/middy.js';
import { httpEvent } from '../../local/http-event.js';
import { lambdaContext } from '../../local/lambda.js';

/**
 * `requireFeature` against a stand-in for Meterline's entitlement route: which tenants have which
 * features, and a count of the checks it answered (the middleware caches them).
 */
function fakeMeterline(features: Record<string, string[]>, failing = false) {
  const asked: string[] = [];
  const fetch = (async (input: string | URL) => {
    const url = new URL(String(input));
    const feature = decodeURIComponent(url.pathname.split('/').at(-1)!);
    const tenant = url.searchParams.get('tenant')!;
    asked.push(`${tenant}:${feature}`);
    if (failing) return new Response(JSON.stringify({ code: 'INTERNAL', message: 'down' }), { status: 500 });
    const hasAccess = features[tenant]?.includes(feature) ?? false;
    return Response.json({ feature, kind: 'boolean', hasAccess, value: hasAccess });
  }) as typeof globalThis.fetch;
  const client = new Meterline({ apiKey: 'mtl_service_secret', baseUrl: 'https://meterline.test', fetch });
  return { client, asked };
}

describe('requireFeature', () => {
  it('Express: 403 FEATURE_NOT_INCLUDED without the feature, the route with it, one check per tenant and feature in a cache interval', async () => {
    const { client, asked } = fakeMeterline({ 'acme-ent': ['sso'] });
    const metering = expressMeterline({ client, tenant: (req) => req.get('x-tenant'), meter: 'api_calls' });
    const app = express();
    app.get('/sso', metering.requireFeature('sso'), (_req, res) => void res.json({ ok: true }));
    const server = app.listen(0);
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sso`;
    try {
      const as = (tenant?: string) => fetch(url, { headers: tenant ? { 'x-tenant': tenant } : {} });
      const refused = await as('acme-pro');
      expect(refused.status).toBe(403);
      expect(await refused.json()).toEqual({ code: 'FEATURE_NOT_INCLUDED', message: 'this plan does not include sso', feature: 'sso' });
      expect((await as('acme-ent')).status).toBe(200);
      expect((await as('acme-ent')).status).toBe(200);
      // No tenant, no plan: refused without asking.
      expect((await as()).status).toBe(403);
      expect(asked).toEqual(['acme-pro:sso', 'acme-ent:sso']);
      expect(metering.metering.stats()).toMatchObject({ featureRefused: 1, entitlementFetches: 2 });
    } finally {
      server.close();
    }
  });

  it('middy: answers 403 before the handler runs; failing closed, 503 when Meterline cannot answer', async () => {
    type E = APIGatewayProxyEventV2;
    type R = APIGatewayProxyStructuredResultV2;
    const gated = (client: Meterline, failOpen?: boolean) => {
      const metering = middyMeterline<E, R>({
        client,
        tenant: (event) => event.headers['x-tenant'],
        meter: 'api_calls',
        ...(failOpen === undefined ? {} : { failOpen }),
      });
      return middy<E, R>(async () => ({ statusCode: 200, body: 'ran' })).use(metering.requireFeature('sso'));
    };
    const event = (tenant: string) => {
      const e = httpEvent({ routeKey: 'GET /sso' }) as E;
      return { ...e, headers: { ...e.headers, 'x-tenant': tenant } };
    };
    const { client } = fakeMeterline({ 'acme-ent': ['sso'] });
    const handler = gated(client);
    expect(await handler(event('acme-pro'), lambdaContext())).toMatchObject({ statusCode: 403 });
    expect(JSON.parse((await handler(event('acme-pro'), lambdaContext())).body!)).toMatchObject({ code: 'FEATURE_NOT_INCLUDED' });
    expect(await handler(event('acme-ent'), lambdaContext())).toMatchObject({ statusCode: 200, body: 'ran' });

    const down = fakeMeterline({}, true).client;
    expect(await gated(down, false)(event('acme-ent'), lambdaContext())).toMatchObject({ statusCode: 503 });
    expect(await gated(down)(event('acme-ent'), lambdaContext())).toMatchObject({ statusCode: 200 });
  });
});
