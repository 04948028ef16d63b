import { describe, expect, it } from 'vitest';
import { cachedMeters, type Meter } from '../../shared/metering/meters.js';

/** Ingest's cache of meter definitions over a directory that counts its reads, at a clock the test moves. */
const meter = (key: string): Meter => ({ key, name: key, unit: 'unit', aggregation: 'SUM', groupBy: [] });
function cache(defined: Record<string, Meter[]>) {
  const reads: string[] = [];
  let clock = 0;
  let failing = false;
  const meters = cachedMeters(
    async (tenantId) => {
      reads.push(tenantId);
      if (failing) throw new Error('ThrottlingException');
      return defined[tenantId] ?? [];
    },
    1_000,
    () => clock,
  );
  return { meters, reads, tick: (ms: number) => (clock += ms), fail: (on: boolean) => (failing = on) };
}

describe('cached meter definitions', () => {
  it("keep each tenant's definitions for the ttl, then read them again", async () => {
    const c = cache({ acme: [meter('orders')], globex: [meter('calls')] });
    await c.meters('acme');
    await c.meters('globex');
    c.tick(999);
    expect([...(await c.meters('acme')).keys()]).toEqual(['orders']);
    expect(c.reads).toEqual(['acme', 'globex']);
    c.tick(1);
    await c.meters('acme');
    expect(c.reads).toEqual(['acme', 'globex', 'acme']);
  });

  it('read afresh when asked to (an admin replay), whatever the cache holds', async () => {
    const defined = { acme: [meter('orders')] };
    const c = cache(defined);
    await c.meters('acme');
    defined.acme = [meter('orders'), meter('gpu')];
    expect((await c.meters('acme', [], true)).has('gpu')).toBe(true);
    expect(c.reads).toHaveLength(2);
  });

  it('do not keep a failed read: the next request reads again', async () => {
    const c = cache({ acme: [meter('orders')] });
    c.fail(true);
    await expect(c.meters('acme')).rejects.toThrow('ThrottlingException');
    c.fail(false);
    expect((await c.meters('acme')).has('orders')).toBe(true);
    expect(c.reads).toEqual(['acme', 'acme']);
  });

  it('share one re-read among the requests that name a meter the cache lacks at once', async () => {
    const defined = { acme: [meter('orders')] };
    const c = cache(defined);
    await c.meters('acme');
    defined.acme = [meter('orders'), meter('tokens')];
    const answers = await Promise.all([c.meters('acme', ['tokens']), c.meters('acme', ['tokens', 'tokens']), c.meters('acme', ['typo'])]);
    expect(answers.every((m) => m.has('tokens'))).toBe(true);
    expect(c.reads).toEqual(['acme', 'acme']);
  });
});
