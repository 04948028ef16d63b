import { describe, expect, it } from 'vitest';
import { createEventsApi } from '../../functions/events/events.js';
import { httpEvent } from '../../local/http-event.js';
import { lambdaContext } from '../../local/lambda.js';
import type { LedgerEntry } from '../../shared/metering/ports.js';

/** `GET /v1/events/{id}`, `GET /v1/events` and the answer to unknown paths, over a ledger in memory. */
const counted: LedgerEntry = {
  tenantId: 'acme',
  id: 'e-1',
  meter: 'orders',
  aggregation: 'SUM',
  value: '2.50',
  timestamp: '2026-03-10T10:05:00.000Z',
  groupKey: '',
  payloadHash: 'h',
  receivedAt: '2026-03-10T10:05:01.000Z',
  status: 'counted',
  countedAt: '2026-03-10T10:05:02.000Z',
  subject: 'cart-9',
  properties: '{"weight":0.10000000000000000001}',
};
const ledger: Record<string, LedgerEntry> = {
  'e-1': counted,
  'e-2': { ...counted, id: 'e-2', correctedAt: '2026-03-11T00:00:00.000Z', voidedAt: '2026-03-11T00:00:00.000Z' },
  'e-3': {
    ...counted,
    id: 'e-3',
    status: 'quarantined',
    quarantineReason: 'value is not a number',
    quarantinedAt: '2026-03-10T10:05:03.000Z',
  },
};

function world() {
  const asked: unknown[] = [];
  const api = createEventsApi({
    event: async (tenantId, id) => (tenantId === 'acme' ? ledger[id] : undefined),
    quarantined: async (q) => {
      asked.push(q);
      return { items: [ledger['e-3']!], cursor: 'next-q' };
    },
    rejected: async (q) => {
      asked.push(q);
      return {
        items: [
          { index: 0, code: 'UNKNOWN_METER', field: 'meter', message: 'no meter "x"', receivedAt: counted.receivedAt, requestId: 'r1' },
        ],
      };
    },
  });
  const call = async (
    routeKey: string,
    o: { path?: Record<string, string>; query?: Record<string, string>; rawPath?: string; scope?: 'read' } = {},
  ) => {
    const event = httpEvent({ routeKey, ...(o.path ? { path: o.path } : {}), ...(o.query ? { query: o.query } : {}) });
    if (o.rawPath) Object.assign(event, { rawPath: o.rawPath });
    if (o.scope) event.requestContext.authorizer = { lambda: { role: 'tenant', keyId: 'k-2', tenantId: 'acme', scope: o.scope } };
    const res = await api(event, lambdaContext('events'));
    return { status: res.statusCode, body: JSON.parse(res.body as string) };
  };
  return { call, asked };
}

describe('one event by id', () => {
  it('shows a counted event with its payload exactly as sent and the counters it moved', async () => {
    const { status, body } = await world().call('GET /v1/events/{id}', { path: { id: 'e-1' } });
    expect(status).toBe(200);
    expect(body).toMatchObject({ id: 'e-1', status: 'counted', value: '2.50', subject: 'cart-9', countedAt: counted.countedAt });
    expect(body.properties).toEqual({ weight: 0.1 });
    expect(body.counters.map((c: { granularity: string; period: string }) => `${c.granularity} ${c.period}`).sort()).toEqual([
      'day 2026-03-10',
      'hour 2026-03-10T10',
      'month 2026-03',
      'quarter 2026-03-10T10:00',
    ]);
  });

  it('shows a voided event as voided, moving no counter, and a quarantined one with its reason', async () => {
    const { call } = world();
    expect((await call('GET /v1/events/{id}', { path: { id: 'e-2' } })).body).toMatchObject({
      status: 'voided',
      correctedAt: '2026-03-11T00:00:00.000Z',
      counters: [],
    });
    expect((await call('GET /v1/events/{id}', { path: { id: 'e-3' } })).body).toMatchObject({
      status: 'quarantined',
      quarantine: { reason: 'value is not a number', at: '2026-03-10T10:05:03.000Z' },
      counters: [],
    });
  });

  it('answers 404 naming the id for an event the ledger does not hold, saying where rejected ones are listed', async () => {
    const res = await world().call('GET /v1/events/{id}', { path: { id: 'e-404' } });
    expect(res).toMatchObject({ status: 404, body: { code: 'NOT_FOUND', field: 'id' } });
    expect(res.body.message).toContain('GET /v1/events?status=rejected');
  });
});

describe('rejected and quarantined events', () => {
  it('lists each status over the range asked for, handing on the cursor', async () => {
    const { call, asked } = world();
    const rejected = await call('GET /v1/events', { query: { status: 'rejected', from: '2026-03-01T00:00:00Z', limit: '10' } });
    expect(rejected.body).toEqual({
      status: 'rejected',
      events: [
        {
          status: 'rejected',
          index: 0,
          code: 'UNKNOWN_METER',
          field: 'meter',
          message: 'no meter "x"',
          receivedAt: counted.receivedAt,
          requestId: 'r1',
        },
      ],
    });
    const quarantined = await call('GET /v1/events', { query: { status: 'quarantined', cursor: 'c1' } });
    expect(quarantined.body).toMatchObject({ status: 'quarantined', cursor: 'next-q', events: [{ id: 'e-3', status: 'quarantined' }] });
    expect(asked).toEqual([
      { tenantId: 'acme', from: '2026-03-01T00:00:00.000Z', to: '9999-12-31T23:59:59.999Z', limit: 10 },
      { tenantId: 'acme', from: '1970-01-01T00:00:00.000Z', to: '9999-12-31T23:59:59.999Z', limit: 100, cursor: 'c1' },
    ]);
  });

  it('refuses a missing or unknown status and a page too large, naming the field', async () => {
    const { call } = world();
    expect(await call('GET /v1/events', { query: {} })).toMatchObject({ status: 400, body: { code: 'INVALID_REQUEST', field: 'status' } });
    expect(await call('GET /v1/events', { query: { status: 'counted' } })).toMatchObject({ status: 400, body: { field: 'status' } });
    expect(await call('GET /v1/events', { query: { status: 'rejected', limit: '1001' } })).toMatchObject({
      status: 400,
      body: { field: 'limit' },
    });
  });
});

describe('unknown paths', () => {
  it('answer 404 naming the method and path, once the key may call a route there', async () => {
    const { call } = world();
    expect(await call('GET /{proxy+}', { rawPath: '/v1/nope' })).toEqual({
      status: 404,
      body: { code: 'NOT_FOUND', message: 'no route for GET /v1/nope' },
    });
    // A read-only key may not even learn whether a write route exists.
    expect(await call('POST /{proxy+}', { rawPath: '/v1/nope', scope: 'read' })).toMatchObject({
      status: 403,
      body: { code: 'FORBIDDEN' },
    });
  });
});
