import middy from '@middy/core';
import { describe, expect, it } from 'vitest';
import { Meterline } from '../../clients/node/src/index.js';
import { meterline } from '../../clients/node/src/middy.js';

/**
 * The middy middleware on API Gateway's REST (1.0) events as well as HTTP API (2.0) ones, and on handlers whose answer
 * is not an HTTP response: each handled invocation is one event with its route, method and status.
 */
type RestEvent = { resource?: string; httpMethod?: string; user?: string };

function metered(flush: boolean) {
  const posted: { properties?: Record<string, unknown>; tenant?: string }[] = [];
  const fetch = (async (_url: string, init?: RequestInit) => {
    const events = JSON.parse(String(init?.body)) as typeof posted;
    posted.push(...events);
    return Response.json({ results: events.map((_, index) => ({ index, status: 'accepted' })) }, { status: 202 });
  }) as typeof globalThis.fetch;
  const client = new Meterline({ apiKey: 'mk_test', baseUrl: 'http://meterline.test', fetch, extensionAddress: null });
  const use = <R>(handler: (event: RestEvent) => Promise<R>) =>
    middy<RestEvent, R>()
      .use(meterline<RestEvent, R>({ client, meter: 'api_calls', tenant: (e) => e.user, flush }))
      .handler(handler);
  return { client, posted, use };
}

describe('the middy middleware', () => {
  it('names a REST API event’s route by its method and resource, and counts a non-HTTP answer as 200', async () => {
    const { posted, use } = metered(true);
    const handler = use(async () => ({ done: true }));
    await handler({ resource: '/orders/{id}', httpMethod: 'GET', user: 'acme' }, {} as never);
    await handler({ user: 'acme' }, {} as never);
    expect(posted.map((e) => [e.tenant, e.properties])).toEqual([
      ['acme', { route: 'GET /orders/{id}', method: 'GET', status: 200 }],
      ['acme', { route: 'unmatched', method: '', status: 200 }],
    ]);
  });

  it('counts a failed invocation with its error’s status (500 without one), and leaves a request without a tenant unmetered', async () => {
    const { posted, use } = metered(true);
    const failing = use(async (event: RestEvent) => {
      throw Object.assign(new Error('nope'), event.user === 'acme' ? { statusCode: 404 } : {});
    });
    await expect(failing({ resource: '/orders/{id}', httpMethod: 'DELETE', user: 'acme' }, {} as never)).rejects.toThrow('nope');
    await expect(failing({ resource: '/orders', httpMethod: 'POST', user: 'globex' }, {} as never)).rejects.toThrow('nope');
    await expect(failing({ resource: '/orders', httpMethod: 'POST' }, {} as never)).rejects.toThrow('nope');
    expect(posted.map((e) => [e.tenant, e.properties?.status])).toEqual([
      ['acme', 404],
      ['globex', 500],
    ]);
  });

  it('with flush: false, keeps the events for the client’s own batching', async () => {
    const { client, posted, use } = metered(false);
    await use(async () => ({ statusCode: 201 }))({ resource: '/orders', httpMethod: 'POST', user: 'acme' }, {} as never);
    expect(posted).toEqual([]);
    expect(client.stats()).toMatchObject({ tracked: 1, pending: 1 });
    await client.shutdown();
    expect(posted.map((e) => e.properties?.status)).toEqual([201]);
  });
});
