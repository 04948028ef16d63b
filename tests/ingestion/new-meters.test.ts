import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { cachedMeters, type Meter } from '../../shared/metering/meters.js';
import { api, createAdminKey, createTenant, startTestStack } from '../support/stack.js';

const meter = (key: string): Meter => ({ key, name: key, unit: 'unit', aggregation: 'SUM', groupBy: [] });

describe('cached meter definitions', () => {
  it('re-reads at once for a meter they lack, and a name still missing not again within the ttl', async () => {
    let defined = [meter('orders')];
    let reads = 0;
    let clock = 0;
    const meters = cachedMeters(
      async () => (reads++, defined),
      1_000,
      () => clock,
    );
    expect([...(await meters('t', ['orders'])).keys()]).toEqual(['orders']);
    defined = [meter('orders'), meter('tokens')];
    expect((await meters('t', ['tokens'])).has('tokens')).toBe(true);
    expect(reads).toBe(2);
    for (let i = 0; i < 100; i++) await meters('t', ['tokns']);
    expect(reads).toBe(3);
    clock += 1_000;
    defined = [meter('orders'), meter('tokens'), meter('tokns')];
    expect((await meters('t', ['tokns'])).has('tokns')).toBe(true);
    expect(reads).toBe(4);
  });
});

describe('a meter defined a moment ago, on the local stack', () => {
  let stack: LocalStack;
  let key: string;
  let admin: string;
  const now = () => new Date().toISOString();
  const current = async (meterKey: string) =>
    (await api(stack, 'GET', '/v1/usage/current', key)).body.meters.find((m: { meter: string }) => m.meter === meterKey)?.value;

  beforeAll(async () => {
    stack = await startTestStack();
    key = await createTenant(stack, 'fresh');
    admin = await createAdminKey(stack);
  });
  afterAll(() => stack?.stop());

  it('counts an event posted right after its meter is defined, though ingest had the definitions cached', async () => {
    expect((await api(stack, 'POST', '/v1/events', key, { id: 'warm', meter: 'orders', timestamp: now() })).status).toBe(202);
    const defined = await api(stack, 'PUT', '/v1/admin/tenants/fresh/meters/tokens', admin, {
      name: 'Tokens',
      unit: 'token',
      aggregation: 'SUM',
    });
    expect(defined.status).toBeLessThan(300);
    const posted = await api(stack, 'POST', '/v1/events', key, { id: 't-1', meter: 'tokens', timestamp: now(), value: 5 });
    expect(posted.body.results[0]).toMatchObject({ status: 'accepted' });
    await stack.drained();
    expect(await current('tokens')).toBe('5');
  });

  it("replays a tenant's UNKNOWN_METER rejections of a meter once it exists, counting each event once however often", async () => {
    const sent = [
      { id: 'g-1', meter: 'gpu', timestamp: now(), value: 1.5 },
      { id: 'g-2', meter: 'gpu', timestamp: now(), value: '2.25' },
      { id: 'o-1', meter: 'other', timestamp: now(), value: 7 },
    ];
    for (const body of [sent, sent.slice(0, 1)]) {
      const r = await api(stack, 'POST', '/v1/events', key, body);
      expect(r.body.results.every((x: { code: string }) => x.code === 'UNKNOWN_METER')).toBe(true);
    }
    const replay = (body: unknown) => api(stack, 'POST', '/v1/admin/tenants/fresh/rejections/replay', admin, body);
    expect(await replay({ meter: 'gpu' })).toMatchObject({ status: 404, body: { code: 'NOT_FOUND', field: 'meter' } });
    expect(await replay({ meter: 'gpu', from: '0099-01-01T00:00:00Z' })).toMatchObject({ status: 400, body: { field: 'from' } });
    expect(await api(stack, 'POST', '/v1/admin/tenants/nobody/rejections/replay', admin, { meter: 'gpu' })).toMatchObject({ status: 404 });
    expect(await api(stack, 'POST', '/v1/admin/tenants/fresh/rejections/replay', key, { meter: 'gpu' })).toMatchObject({ status: 403 });

    await api(stack, 'PUT', '/v1/admin/tenants/fresh/meters/gpu', admin, { name: 'GPU', unit: 'second', aggregation: 'SUM' });
    const first = await replay({ meter: 'gpu' });
    expect(first).toMatchObject({ status: 202, body: { meter: 'gpu', accepted: 2, duplicates: 1, rejected: 0, failed: 0 } });
    // Replayed again at once, the events go to the queue again if the consumer has not counted them yet (the queue has no
    // batching window, so it may have): either way the ledger counts each once.
    const again = await replay({ meter: 'gpu' });
    expect(again.status).toBe(202);
    expect(again.body.accepted + again.body.duplicates).toBe(3);
    expect([0, 1, 2]).toContain(again.body.accepted);
    await stack.drained();
    expect(await replay({ meter: 'gpu' })).toMatchObject({ status: 202, body: { accepted: 0, duplicates: 3 } });
    await stack.drained();
    expect(await current('gpu')).toBe('3.75');
    expect(await replay({ meter: 'gpu', to: '2000-01-01T00:00:00Z' })).toMatchObject({ status: 202, body: { accepted: 0, duplicates: 0 } });
  });
});
