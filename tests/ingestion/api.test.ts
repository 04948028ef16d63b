import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { api, createAdminKey, createTenant, startTestStack } from '../support/stack.js';

describe('HTTP API on the local stack', () => {
  let stack: LocalStack;
  let keyA: string;
  let keyB: string;
  let admin: string;
  const now = () => new Date().toISOString();

  beforeAll(async () => {
    stack = await startTestStack();
    keyA = await createTenant(stack, 'tenant-a');
    keyB = await createTenant(stack, 'tenant-b');
    admin = await createAdminKey(stack);
  });
  afterAll(() => stack?.stop());

  describe('tenant isolation', () => {
    it("never lets tenant A's key write or read tenant B's usage", async () => {
      // The tenant comes from the key: a tenantId in the body is rejected, not obeyed.
      const smuggled = await api(stack, 'POST', '/v1/events', keyA, { id: 'x1', meter: 'orders', timestamp: now(), tenantId: 'tenant-b' });
      expect(smuggled.body.results[0]).toMatchObject({ status: 'rejected', code: 'INVALID_EVENT' });

      await api(
        stack,
        'POST',
        '/v1/events',
        keyA,
        [1, 2, 3].map((i) => ({ id: `a-${i}`, meter: 'orders', timestamp: now() })),
      );
      await api(stack, 'POST', '/v1/events', keyB, { id: 'b-1', meter: 'orders', timestamp: now() });
      // The same event id is a different event for another tenant.
      await api(stack, 'POST', '/v1/events', keyB, { id: 'a-1', meter: 'orders', timestamp: now() });
      await stack.drained();

      const orders = async (key: string) =>
        (await api(stack, 'GET', '/v1/usage/current', key)).body.meters.find((m: { meter: string }) => m.meter === 'orders').value;
      expect(await orders(keyA)).toBe('3');
      expect(await orders(keyB)).toBe('2');
      // No query parameter reaches another tenant either.
      const probe = await api(stack, 'GET', '/v1/usage?meter=orders&tenantId=tenant-b', keyA);
      expect(probe.body.data.reduce((s: number, d: { events: number }) => s + d.events, 0)).toBe(3);
    });

    it('keeps tenant keys off admin routes and admin keys off tenant routes', async () => {
      expect(await api(stack, 'GET', '/v1/admin/tenants', keyA)).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
      expect(await api(stack, 'GET', '/v1/usage/current', admin)).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
    });
  });

  describe('authentication', () => {
    it('denies malformed, unknown and revoked keys at the gateway, before any route function runs', async () => {
      const created = await api(stack, 'POST', '/v1/admin/tenants/tenant-a/api-keys', admin, { name: 'short-lived' });
      expect(created.status).toBe(201);
      expect((await api(stack, 'GET', '/v1/meters', created.body.token)).status).toBe(200);
      expect((await api(stack, 'DELETE', `/v1/admin/tenants/tenant-a/api-keys/${created.body.keyId}`, admin)).status).toBe(204);
      // Another tenant's key id cannot be revoked through this tenant.
      expect((await api(stack, 'DELETE', `/v1/admin/tenants/tenant-b/api-keys/${created.body.keyId}`, admin)).status).toBe(404);

      const before = {
        ingest: stack.invocations('ingest'),
        usage: stack.invocations('usage'),
        authorizer: stack.invocations('authorizer'),
      };
      const forged = `${keyA.slice(0, -4)}AAAA`;
      for (const bad of ['not-a-key', forged, created.body.token]) {
        // API Gateway's own answer to a deny: 403 and a bare message, not the error contract.
        expect(await api(stack, 'GET', '/v1/usage/current', bad)).toEqual({ status: 403, body: { message: 'Forbidden' } });
        expect(await api(stack, 'POST', '/v1/events', bad, { id: 'x', meter: 'orders', timestamp: now() })).toEqual({
          status: 403,
          body: { message: 'Forbidden' },
        });
      }
      // No header at all: API Gateway answers without invoking the authorizer.
      expect(await api(stack, 'GET', '/v1/usage/current', undefined)).toEqual({ status: 401, body: { message: 'Unauthorized' } });
      expect(stack.invocations('ingest')).toBe(before.ingest);
      expect(stack.invocations('usage')).toBe(before.usage);
      expect(stack.invocations('authorizer')).toBe(before.authorizer + 6);
    });

    it('never shows a stored hash', async () => {
      const keys = await api(stack, 'GET', '/v1/admin/tenants/tenant-a/api-keys', admin);
      expect(JSON.stringify(keys.body)).not.toMatch(/secretHash|token/);
    });
  });

  describe('admin API', () => {
    it('creates a tenant with a meter and a key, and refuses to redefine how a meter folds', async () => {
      expect(await api(stack, 'POST', '/v1/admin/tenants', admin, { id: 'optical-labs', name: 'Optical Labs' })).toMatchObject({
        status: 201,
      });
      expect(await api(stack, 'POST', '/v1/admin/tenants', admin, { id: 'optical-labs', name: 'Again' })).toMatchObject({
        status: 409,
        body: { code: 'CONFLICT' },
      });
      const meter = { name: 'GPU seconds', unit: 's', aggregation: 'SUM', groupBy: ['gpu'] };
      expect(await api(stack, 'PUT', '/v1/admin/tenants/optical-labs/meters/gpu_seconds', admin, meter)).toMatchObject({ status: 201 });
      expect(
        await api(stack, 'PUT', '/v1/admin/tenants/optical-labs/meters/gpu_seconds', admin, { ...meter, name: 'GPU time' }),
      ).toMatchObject({ status: 200 });
      expect(
        await api(stack, 'PUT', '/v1/admin/tenants/optical-labs/meters/gpu_seconds', admin, { ...meter, aggregation: 'MAX' }),
      ).toMatchObject({ status: 409, body: { field: 'aggregation' } });
      expect(await api(stack, 'PUT', '/v1/admin/tenants/optical-labs/meters/Bad-Key', admin, meter)).toMatchObject({
        status: 400,
        body: { code: 'INVALID_REQUEST', field: 'meter' },
      });
      expect(await api(stack, 'PUT', '/v1/admin/tenants/optical-labs/meters/x', admin, { ...meter, aggregation: 'MEDIAN' })).toMatchObject({
        status: 400,
        body: { field: 'aggregation' },
      });
      expect(await api(stack, 'GET', '/v1/admin/tenants/nobody', admin)).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });

      const key = await api(stack, 'POST', '/v1/admin/tenants/optical-labs/api-keys', admin, {});
      const post = await api(stack, 'POST', '/v1/events', key.body.token, {
        id: 'g1',
        meter: 'gpu_seconds',
        timestamp: now(),
        value: 1.25,
        properties: { gpu: 'a100' },
      });
      expect(post.body).toMatchObject({ accepted: 1 });
    });
  });

  describe('ingest requests', () => {
    it.each([
      ['not json', 'application/json', 400, 'INVALID_JSON'],
      ['"a string"', 'application/json', 400, 'INVALID_REQUEST'],
      ['[]', 'application/json', 400, 'INVALID_REQUEST'],
      ['{}', 'text/plain', 415, 'UNSUPPORTED_MEDIA_TYPE'],
      [JSON.stringify(Array.from({ length: 1001 }, (_, i) => ({ id: String(i) }))), 'application/json', 413, 'BATCH_TOO_LARGE'],
      [
        JSON.stringify({ id: 'x', meter: 'orders', timestamp: '2026-01-01T00:00:00Z', properties: { pad: 'x'.repeat(1_100_000) } }),
        'application/json',
        413,
        'PAYLOAD_TOO_LARGE',
      ],
      ['{"id":"x"}', 'application/cloudevents-batch+json', 400, 'INVALID_REQUEST'],
    ])('rejects %s (%s) with %i %s', async (body, type, status, code) => {
      expect(await api(stack, 'POST', '/v1/events', keyA, body, type)).toMatchObject({ status, body: { code } });
    });

    it('takes CloudEvents batches and answers for each event', async () => {
      // The repeated event is the same event: one time for both (two readings of the clock can differ by a millisecond).
      const time = now();
      const batch = [
        { specversion: '1.0', id: 'ce-1', source: 'billing-svc', type: 'invoices', time },
        { specversion: '1.0', id: 'ce-2', source: 'billing-svc', type: 'invoices' },
        { specversion: '1.0', id: 'ce-1', source: 'billing-svc', type: 'invoices', time },
        { specversion: '1.0', id: 'ce-3', source: 'billing-svc', type: 'unknown' },
      ];
      const res = await api(stack, 'POST', '/v1/events', keyB, batch, 'application/cloudevents-batch+json');
      expect(res.status).toBe(202);
      expect(res.body.results.map((r: { status: string }) => r.status)).toEqual(['accepted', 'accepted', 'duplicate', 'rejected']);
    });

    it('validates usage queries with a code and the field', async () => {
      expect(await api(stack, 'GET', '/v1/usage?meter=orders&granularity=week', keyA)).toMatchObject({
        status: 400,
        body: { code: 'INVALID_REQUEST', field: 'granularity' },
      });
      expect(await api(stack, 'GET', '/v1/usage', keyA)).toMatchObject({ status: 400, body: { field: 'meter' } });
      expect(await api(stack, 'GET', '/v1/usage?meter=nope', keyA)).toMatchObject({ status: 404, body: { field: 'meter' } });
      expect(await api(stack, 'GET', '/v1/usage?meter=orders&granularity=hour&from=2025-01-01T00:00:00Z', keyA)).toMatchObject({
        status: 400,
        body: { field: 'granularity' },
      });
    });
  });
});
