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
});
