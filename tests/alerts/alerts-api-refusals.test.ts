import { describe, expect, it } from 'vitest';
import { createAlertsApi } from '../../functions/alerts/alerts.js';
import { httpEvent } from '../../local/http-event.js';
import { lambdaContext } from '../../local/lambda.js';
import { MAX_RECIPIENTS, type Recipient } from '../../shared/alerts/email.js';
import type { WebhookEndpoint } from '../../shared/alerts/webhooks.js';
import { seedMeters } from '../../shared/metering/seed-meters.js';

const at = '2026-03-10T00:00:00.000Z';
const endpoint = (id: string): WebhookEndpoint => ({
  id,
  tenantId: 'acme',
  url: 'https://hooks.acme.example/meterline',
  eventTypes: ['quota.exceeded'],
  secret: 'mlwhsec_x',
  previousSecrets: [],
  createdAt: at,
});
const mine = 'we_000000000000000000000001';
const recipient = (address: string, verified = false): Recipient => ({
  tenantId: 'acme',
  address,
  role: 'billing',
  categories: ['billing'],
  createdAt: at,
  ...(verified ? { verifiedAt: at } : {}),
});

/**
 * The alerts API over stores in memory: tenant acme has endpoint `mine` (with a delivery of another endpoint's in its
 * log), a verified and an unverified recipient, and no alert rules; `o` fills its endpoints or recipients to the limit.
 */
function world(o: { endpoints?: number; recipients?: number } = {}) {
  const endpoints = [
    endpoint(mine),
    ...Array.from({ length: (o.endpoints ?? 1) - 1 }, (_, i) => endpoint(`we_${String(i).padStart(24, 'a')}`)),
  ];
  const recipients = [
    recipient('pay@acme.example', true),
    recipient('new@acme.example'),
    ...Array.from({ length: (o.recipients ?? 2) - 2 }, (_, i) => recipient(`r${i}@acme.example`)),
  ];
  const writes: string[] = [];
  const api = createAlertsApi({
    meters: async () => seedMeters,
    period: async () => ({ start: Date.parse('2026-03-01T00:00:00Z'), end: Date.parse('2026-04-01T00:00:00Z') }),
    alerts: {
      listAlerts: async () => [],
      deleteAlert: async () => false,
      putAlert: async () => void writes.push('alert'),
    } as never,
    webhooks: {
      listEndpoints: async () => endpoints,
      getEndpoint: async (_t: string, id: string) => endpoints.find((e) => e.id === id),
      getDelivery: async (_t: string, id: string) => (id === 'd_other' ? { id, endpointId: 'we_ffffffffffffffffffffffff' } : undefined),
      putEndpoint: async () => void writes.push('endpoint'),
    } as never,
    checkUrl: async (url) => (url.includes('169.254.') ? 'it resolves to a private address' : undefined),
    queue: { send: async () => void writes.push('queue') } as never,
    email: {
      store: {
        listRecipients: async () => recipients,
        getRecipient: async (_t: string, address: string) => recipients.find((r) => r.address === address),
        putRecipient: async () => void writes.push('recipient'),
      } as never,
      queue: { send: async () => void writes.push('email') } as never,
    },
    now: () => Date.parse(at),
  });
  const call = async (routeKey: string, o: { path?: Record<string, string>; body?: unknown; query?: Record<string, string> } = {}) => {
    const res = await api(httpEvent({ routeKey, tenantId: 'acme', ...o }), lambdaContext('alerts'));
    return { status: res.statusCode, body: JSON.parse(res.body as string) };
  };
  return { call, writes };
}

const refusal = (status: number, code: string, field?: string) => ({
  status,
  body: { code, message: expect.any(String), ...(field ? { field } : {}) },
});
const hook = { url: 'https://hooks.acme.example/b', eventTypes: ['quota.exceeded'] };

describe('alerts API: rules', () => {
  it('answers 404 for a rule that does not exist and 400 for a malformed rule id', async () => {
    const { call } = world();
    expect(await call('GET /v1/alerts/{alertId}', { path: { alertId: 'nope' } })).toEqual(refusal(404, 'NOT_FOUND', 'alertId'));
    expect(await call('DELETE /v1/alerts/{alertId}', { path: { alertId: 'nope' } })).toEqual(refusal(404, 'NOT_FOUND', 'alertId'));
    expect(await call('GET /v1/alerts/{alertId}', { path: { alertId: 'Not An Id' } })).toEqual(refusal(400, 'INVALID_REQUEST', 'alertId'));
  });

  it('refuses a rule on a meter the tenant does not have, and writes nothing', async () => {
    const { call, writes } = world();
    const res = await call('PUT /v1/alerts/{alertId}', {
      path: { alertId: 'big' },
      body: { kind: 'quantity', meter: 'pages', threshold: '10' },
    });
    expect(res).toEqual(refusal(404, 'NOT_FOUND', 'meter'));
    expect(res.body.message).toBe('meter "pages" is not defined for this tenant');
    expect(writes).toEqual([]);
  });
});

describe('alerts API: webhook endpoints', () => {
  it('refuses a URL that cannot receive webhooks, naming the url and why', async () => {
    const { call, writes } = world();
    const res = await call('POST /v1/webhooks', { body: { ...hook, url: 'http://169.254.169.254/latest' } });
    expect(res).toEqual(refusal(400, 'INVALID_REQUEST', 'url'));
    expect(res.body.message).toBe('this URL cannot receive webhooks: it resolves to a private address');
    expect(
      await call('PUT /v1/webhooks/{endpointId}', { path: { endpointId: mine }, body: { ...hook, url: 'https://169.254.0.1/' } }),
    ).toEqual(refusal(400, 'INVALID_REQUEST', 'url'));
    expect(writes).toEqual([]);
  });

  it('refuses a 21st endpoint with 409', async () => {
    const { call, writes } = world({ endpoints: 20 });
    const res = await call('POST /v1/webhooks', { body: hook });
    expect(res).toEqual(refusal(409, 'CONFLICT'));
    expect(res.body.message).toBe('a tenant may register at most 20 webhook endpoints');
    expect(writes).toEqual([]);
  });

  it("answers 404 for an endpoint that is not the tenant's, 400 for a malformed id, on every endpoint route", async () => {
    const { call } = world();
    const other = { endpointId: 'we_ffffffffffffffffffffffff' };
    for (const routeKey of [
      'GET /v1/webhooks/{endpointId}',
      'DELETE /v1/webhooks/{endpointId}',
      'POST /v1/webhooks/{endpointId}/rotate-secret',
      'GET /v1/webhooks/{endpointId}/deliveries',
    ]) {
      expect(await call(routeKey, { path: other }), routeKey).toEqual(refusal(404, 'NOT_FOUND', 'endpointId'));
    }
    expect(await call('GET /v1/webhooks/{endpointId}', { path: { endpointId: 'hook-1' } })).toEqual(
      refusal(400, 'INVALID_REQUEST', 'endpointId'),
    );
  });

  it("refuses to replay a delivery that does not exist or is another endpoint's, and a malformed page size", async () => {
    const { call, writes } = world();
    for (const deliveryId of ['d_nope', 'd_other']) {
      const res = await call('POST /v1/webhooks/{endpointId}/deliveries/{deliveryId}/replay', { path: { endpointId: mine, deliveryId } });
      expect(res).toEqual(refusal(404, 'NOT_FOUND', 'deliveryId'));
    }
    expect(writes).toEqual([]);
    expect(await call('GET /v1/webhooks/{endpointId}/deliveries', { path: { endpointId: mine }, query: { limit: '101' } })).toEqual(
      refusal(400, 'INVALID_REQUEST', 'limit'),
    );
  });
});

describe('alerts API: email recipients', () => {
  it('refuses an address already listed and an 11th recipient with 409, sending no mail', async () => {
    const { call, writes } = world();
    const again = await call('POST /v1/email/recipients', { body: { address: 'new@acme.example', role: 'technical' } });
    expect(again).toEqual(refusal(409, 'CONFLICT', 'address'));
    expect(again.body.message).toBe('new@acme.example is already a recipient; PUT changes it');
    const full = await world({ recipients: MAX_RECIPIENTS }).call('POST /v1/email/recipients', {
      body: { address: 'more@acme.example', role: 'technical' },
    });
    expect(full).toEqual(refusal(409, 'CONFLICT'));
    expect(full.body.message).toBe(`a tenant may name at most ${MAX_RECIPIENTS} email recipients`);
    expect(writes).toEqual([]);
  });

  it("answers 404 for an address that is not the tenant's, 400 for one that is no address", async () => {
    const { call } = world();
    for (const routeKey of [
      'PUT /v1/email/recipients/{address}',
      'DELETE /v1/email/recipients/{address}',
      'POST /v1/email/recipients/{address}/verify',
    ]) {
      expect(await call(routeKey, { path: { address: 'who%40acme.example' }, body: { role: 'billing' } }), routeKey).toEqual(
        refusal(404, 'NOT_FOUND', 'address'),
      );
    }
    expect(await call('DELETE /v1/email/recipients/{address}', { path: { address: 'not-an-address' } })).toEqual(
      refusal(400, 'INVALID_REQUEST', 'address'),
    );
  });

  it('refuses to send the verification mail again to a verified address', async () => {
    const { call, writes } = world();
    const res = await call('POST /v1/email/recipients/{address}/verify', { path: { address: 'pay%40acme.example' } });
    expect(res).toEqual(refusal(409, 'CONFLICT', 'address'));
    expect(res.body.message).toBe('pay@acme.example is verified already');
    expect(writes).toEqual([]);
  });

  it('refuses a malformed page size of the email log', async () => {
    expect(await world().call('GET /v1/email/messages', { query: { limit: '0' } })).toEqual(refusal(400, 'INVALID_REQUEST', 'limit'));
  });
});
