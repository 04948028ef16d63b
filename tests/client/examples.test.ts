import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpEvent } from '../../local/http-event.js';
import { lambdaContext } from '../../local/lambda.js';
import type { LocalStack } from '../../local/stack.js';
import { issueApiKey } from '../../shared/tenancy/api-keys.js';
import { api, createAdminKey, createTenant, directoryOf, eventually, startTestStack } from '../support/stack.js';

const root = resolve(import.meta.dirname, '..', '..');
const example = (name: string) => readFileSync(resolve(root, 'clients/node/examples', name), 'utf8').trim();

describe("docs/integrate.md's integration examples, run as written against the local stack", () => {
  let stack: LocalStack;
  let tenantKey: string;
  const calls = async () =>
    (await api(stack, 'GET', '/v1/usage/current', tenantKey)).body.meters.find((m: { meter: string }) => m.meter === 'api_calls').events;

  beforeAll(async () => {
    stack = await startTestStack();
    tenantKey = await createTenant(stack, 'optical-labs');
    await api(stack, 'PUT', '/v1/admin/tenants/optical-labs/quotas/api_calls', await createAdminKey(stack), { limit: '3' });
    process.env.METERLINE_API_URL = stack.apiUrl;
    process.env.METERLINE_API_KEY = (await issueApiKey(directoryOf(stack), { service: true }, 'product', Date.now())).token;
    process.env.PORT = '0';
  });
  afterAll(() => stack?.stop());

  it('are the examples docs/integrate.md shows', () => {
    const readme = readFileSync(resolve(root, 'docs/integrate.md'), 'utf8');
    expect(readme).toContain(example('middy-handler.ts'));
    expect(readme).toContain(example('express-app.ts'));
  });

  it('middy: meters each handled request for the tenant of the JWT', async () => {
    const { handler } = await import('../../clients/node/examples/middy-handler.js');
    const event = httpEvent({ routeKey: 'GET /estimates/{id}', path: { id: 'e-1' } }) as any;
    event.requestContext.authorizer = { jwt: { claims: { tenant_id: 'optical-labs' }, scopes: [] } };
    expect(await handler(event, lambdaContext('product'))).toMatchObject({ statusCode: 200, body: '{"estimate":"e-1"}' });
    expect(await handler(event, lambdaContext('product'))).toMatchObject({ statusCode: 200 });
    await stack.drained();
    expect(await calls()).toBe(2);
  });

  it('express: meters each response and flushes on SIGTERM', async () => {
    const { server } = await import('../../clients/node/examples/express-app.js');
    if (!server.listening) await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/estimates/e-2`;
    const res = await fetch(url, { headers: { 'x-tenant-id': 'optical-labs' } });
    expect(await res.json()).toEqual({ estimate: 'e-2' });
    process.emit('SIGTERM');
    await eventually(
      async () => (await stack.drained(), calls()),
      (n) => n === 3,
    );
  });
});
