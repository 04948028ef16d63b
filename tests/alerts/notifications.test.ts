import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../local/net.js';
import type { LocalStack } from '../../local/stack.js';
import { shiftMonths } from '../../shared/billing/subscriptions.js';
import { domainEventSchema } from '../../shared/events/domain-events.js';
import { api, createAdminKey, createTenant, startTestStack } from '../support/stack.js';

/** The verification snippet exactly as docs/alerts.md documents it. */
async function documentedVerifier(): Promise<
  (raw: string, header: string | undefined, secret: string, tolerance?: number, now?: number) => boolean
> {
  const readme = readFileSync(resolve(import.meta.dirname, '../../docs/alerts.md'), 'utf8');
  const code = /```js\n(\/\/ meterline-webhook-verify\n[\s\S]*?)```/.exec(readme)?.[1];
  if (!code) throw new Error('docs/alerts.md has no verification snippet');
  const dir = mkdtempSync(join(tmpdir(), 'meterline-verify-'));
  const file = join(dir, 'verify.mjs');
  writeFileSync(file, code);
  try {
    return (await import(pathToFileURL(file).href)).verifyMeterlineWebhook;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  answered: number;
}

/** A webhook receiver on 127.0.0.1 that answers 500 to its first `failures` requests. */
async function receiver(failures = 0) {
  const received: Received[] = [];
  let left = failures;
  const port = await freePort();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answered = left > 0 ? (left--, 500) : 200;
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), answered });
      res.writeHead(answered).end();
    });
  });
  await new Promise<void>((done) => server.listen(port, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    /** Events acknowledged with a 2xx, by event id. */
    delivered: () =>
      received
        .filter((r) => r.answered === 200)
        .map((r) => JSON.parse(r.body) as { id: string; type: string; data: Record<string, unknown> }),
    stop: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

async function until<T>(read: () => T | Promise<T>, done: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`condition not reached: ${JSON.stringify(v).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('alerts reach people: rules over the billing period, signed webhooks with retries, the event bus', () => {
  let stack: LocalStack;
  let key: string;
  let admin: string;
  let ok: Awaited<ReturnType<typeof receiver>>;
  let flaky: Awaited<ReturnType<typeof receiver>>;
  let okEndpoint: { id: string; secret: string };
  let flakyEndpoint: { id: string; secret: string };
  let verify: Awaited<ReturnType<typeof documentedVerifier>>;
  // The previous billing period ended yesterday, so its late events are still inside the grace window.
  const boundary = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate()) - 86_400_000;
  const inFirst = boundary - 3_600_000;

  beforeAll(async () => {
    stack = await startTestStack({ env: { WEBHOOK_RETRY_BASE_SECONDS: '1' } });
    admin = await createAdminKey(stack);
    key = await createTenant(stack, 'alert-co');
    await createTenant(stack, 'quiet-co');
    ok = await receiver();
    flaky = await receiver(3);
    verify = await documentedVerifier();
  });
  afterAll(async () => {
    await stack?.stop();
    await ok?.stop();
    await flaky?.stop();
  });

  const post = async (prefix: string, n: number, at: number) => {
    for (let from = 0; from < n; from += 1000) {
      const events = Array.from({ length: Math.min(1000, n - from) }, (_, i) => ({
        id: `${prefix}-${from + i}`,
        meter: 'api_calls',
        timestamp: new Date(at + i).toISOString(),
      }));
      expect(await api(stack, 'POST', '/v1/events', key, events)).toMatchObject({ status: 202, body: { rejected: 0 } });
    }
    await stack.drained();
  };

  it('gives a new subscription its default 80% and 100% rules on each included quota', async () => {
    const startAt = new Date(shiftMonths(boundary, -1)).toISOString();
    expect(await api(stack, 'PUT', '/v1/admin/tenants/alert-co/subscription', admin, { planId: 'starter', startAt })).toMatchObject({
      status: 201,
    });
    const { body } = await api(stack, 'GET', '/v1/alerts', key);
    expect(body.period.start).toBe(new Date(boundary).toISOString());
    expect(body.alerts.map((a: { id: string }) => a.id).sort()).toEqual(
      ['api_calls', 'estimates', 'seats'].flatMap((m) => [`included-${m}-100`, `included-${m}-80`]).sort(),
    );
    expect(body.alerts.find((a: { id: string }) => a.id === 'included-api_calls-80')).toMatchObject({
      kind: 'percent',
      meter: 'api_calls',
      of: 'included',
      percent: '80',
      firing: null,
    });
  });

  it('registers endpoints with a secret shown once, and refuses what cannot receive', async () => {
    const types = ['usage.threshold_crossed', 'quota.exceeded', 'spend.threshold_crossed'];
    const created = await api(stack, 'POST', '/v1/webhooks', key, { url: ok.url, eventTypes: types });
    expect(created).toMatchObject({
      status: 201,
      body: { id: expect.stringMatching(/^we_/), url: ok.url, secret: expect.stringMatching(/^mlwhsec_/) },
    });
    okEndpoint = created.body;
    flakyEndpoint = (await api(stack, 'POST', '/v1/webhooks', key, { url: flaky.url, eventTypes: ['usage.threshold_crossed'] })).body;
    expect((await api(stack, 'GET', `/v1/webhooks/${okEndpoint.id}`, key)).body).not.toHaveProperty('secret');
    expect(await api(stack, 'POST', '/v1/webhooks', key, { url: 'http://10.0.0.7/x', eventTypes: types })).toMatchObject({
      status: 400,
      body: { code: 'INVALID_REQUEST', field: 'url' },
    });
    expect(await api(stack, 'POST', '/v1/webhooks', key, { url: 'http://169.254.169.254/latest', eventTypes: types })).toMatchObject({
      status: 400,
      body: { field: 'url' },
    });
    expect(await api(stack, 'POST', '/v1/webhooks', key, { url: ok.url, eventTypes: ['nope'] })).toMatchObject({
      status: 400,
      body: { field: 'eventTypes.0' },
    });
    expect(await api(stack, 'POST', '/v1/webhooks', key, { url: 'ftp://x', eventTypes: types })).toMatchObject({
      status: 400,
      body: { field: 'url' },
    });
    // Another tenant sees none of them.
    const quiet = await createTenant(stack, 'peek-co');
    expect(await api(stack, 'GET', '/v1/webhooks', quiet)).toMatchObject({ status: 200, body: { endpoints: [] } });
    expect(await api(stack, 'GET', `/v1/webhooks/${okEndpoint.id}/deliveries`, quiet)).toMatchObject({ status: 404 });
  });

  it('crosses 80%, then 100% of the included quota, a hard quota and a spend threshold, each notified once with a valid signature', async () => {
    expect(
      await api(stack, 'PUT', '/v1/alerts/spend-300', key, { kind: 'spend', basis: 'current', amount: '300.00', name: 'Over $300' }),
    ).toMatchObject({ status: 201 });
    expect(await api(stack, 'PUT', '/v1/admin/tenants/alert-co/quotas/api_calls', admin, { limit: '1040' })).toMatchObject({ status: 200 });
    const evaluate = (at: number) => stack.runSchedule('alert-evaluator', new Date(at)) as Promise<{ fired: number; notified: number }>;

    await post('p1-a', 800, inFirst - 60_000);
    expect(await evaluate(inFirst)).toMatchObject({ fired: 1, notified: 1 });
    // 1,050 calls: 100% of the 1,000 included, over the 1,040 hard quota, and $299 + 50 × $0.10 = $304 spent.
    await post('p1-b', 250, inFirst);
    expect(await evaluate(inFirst + 60_000)).toMatchObject({ fired: 3, notified: 3 });
    expect(await evaluate(inFirst + 120_000)).toMatchObject({ fired: 0, notified: 0 });

    const got = await until(
      () => ok.delivered(),
      (d) => d.length >= 4,
    );
    expect(got.map((e) => e.type).sort()).toEqual([
      'quota.exceeded',
      'spend.threshold_crossed',
      'usage.threshold_crossed',
      'usage.threshold_crossed',
    ]);
    for (const event of got) expect(domainEventSchema.safeParse(event).success).toBe(true);
    const first = new Date(shiftMonths(boundary, -1)).toISOString();
    expect(got.find((e) => e.id === `usage.threshold_crossed:alert-co:included-api_calls-80:${first}`)?.data).toMatchObject({
      threshold: '800',
      value: '800',
      percent: '80',
      of: 'included',
    });
    expect(got.find((e) => e.type === 'spend.threshold_crossed')?.data).toMatchObject({
      threshold: '300.00',
      value: '304.00',
      currency: 'USD',
      basis: 'current',
    });
    expect(got.find((e) => e.type === 'quota.exceeded')?.data).toMatchObject({ meter: 'api_calls', limit: '1040', value: '1050' });
    for (const r of ok.received) {
      expect(verify(r.body, r.headers['meterline-signature'] as string, okEndpoint.secret)).toBe(true);
      expect(r.headers['meterline-event-id']).toBe(JSON.parse(r.body).id);
    }
    // The same events are on the bus, with the same ids.
    const onBus = stack.eventBus.events.filter((e) => (e.detail as { tenantId: string }).tenantId === 'alert-co');
    expect(onBus.map((e) => (e.detail as { id: string }).id).sort()).toEqual(got.map((e) => e.id).sort());
    expect(onBus.every((e) => e.source === 'meterline' && e.detailType === (e.detail as { type: string }).type)).toBe(true);
  });

  it('retries a receiver that fails three times until it recovers, and the delivery log shows every attempt', async () => {
    const got = await until(
      () => flaky.delivered(),
      (d) => d.length >= 2,
    );
    expect(got.map((e) => e.data.alertId).sort()).toEqual(['included-api_calls-100', 'included-api_calls-80']);
    expect(flaky.received.filter((r) => r.answered === 500)).toHaveLength(3);
    const log = await api(stack, 'GET', `/v1/webhooks/${flakyEndpoint.id}/deliveries`, key);
    expect(log.status).toBe(200);
    const attempts = log.body.deliveries.flatMap((d: { attempts: { statusCode?: number }[] }) => d.attempts.map((a) => a.statusCode));
    expect(attempts.filter((s: number) => s === 500)).toHaveLength(3);
    expect(log.body.deliveries.every((d: { status: string; deliveredAt?: string }) => d.status === 'delivered' && d.deliveredAt)).toBe(
      true,
    );
    const retried = log.body.deliveries.find((d: { attempts: unknown[] }) => d.attempts.length > 1);
    expect(retried.attempts.at(-1)).toMatchObject({ statusCode: 200 });
    for (const r of flaky.received) expect(verify(r.body, r.headers['meterline-signature'] as string, flakyEndpoint.secret)).toBe(true);
  });

  it('fires again in the next billing period, and only once there too', async () => {
    await post('p2', 1050, Date.now() - 60_000);
    expect(await stack.runSchedule('alert-evaluator')).toMatchObject({ fired: 4, notified: 4 });
    expect(await stack.runSchedule('alert-evaluator')).toMatchObject({ fired: 0, notified: 0 });
    const got = await until(
      () => ok.delivered(),
      (d) => d.length >= 8,
    );
    await new Promise((r) => setTimeout(r, 1500));
    expect(ok.delivered()).toHaveLength(8);
    const ids = got.map((e) => e.id);
    expect(new Set(ids).size).toBe(8);
    expect(ids.filter((id) => id.endsWith(new Date(boundary).toISOString()))).toHaveLength(4);
    const history = await api(stack, 'GET', '/v1/alerts/included-api_calls-100', key);
    expect(history.body.firings.map((f: { period: string; value: string }) => [f.period, f.value])).toEqual([
      [new Date(boundary).toISOString(), '1050'],
      [new Date(shiftMonths(boundary, -1)).toISOString(), '1050'],
    ]);
  });

  it('replays a delivery with the same event id, and signs with both secrets during a rotation', async () => {
    const log = (await api(stack, 'GET', `/v1/webhooks/${okEndpoint.id}/deliveries?limit=1`, key)).body;
    expect(log.deliveries).toHaveLength(1);
    expect(log.cursor).toEqual(expect.any(String));
    const rotated = await api(stack, 'POST', `/v1/webhooks/${okEndpoint.id}/rotate-secret`, key, { overlapHours: 1 });
    expect(rotated).toMatchObject({ status: 200, body: { secret: expect.stringMatching(/^mlwhsec_/) } });
    const before = ok.received.length;
    const delivery = log.deliveries[0];
    expect(await api(stack, 'POST', `/v1/webhooks/${okEndpoint.id}/deliveries/${delivery.id}/replay`, key)).toMatchObject({ status: 202 });
    const replayed = (
      await until(
        () => ok.received.slice(before),
        (r) => r.length >= 1,
      )
    )[0]!;
    expect(JSON.parse(replayed.body).id).toBe(delivery.eventId);
    expect(verify(replayed.body, replayed.headers['meterline-signature'] as string, rotated.body.secret)).toBe(true);
    expect(verify(replayed.body, replayed.headers['meterline-signature'] as string, okEndpoint.secret)).toBe(true);
    expect(await api(stack, 'GET', `/v1/webhooks/${okEndpoint.id}/deliveries?cursor=bogus`, key)).toMatchObject({
      status: 400,
      body: { field: 'cursor' },
    });
  });

  it('the documented snippet refuses a forged, altered, wrongly keyed or stale signature', () => {
    const r = ok.received[0]!;
    const header = r.headers['meterline-signature'] as string;
    expect(verify(r.body, header, okEndpoint.secret)).toBe(true);
    expect(verify(r.body.replace('api_calls', 'api_callz'), header, okEndpoint.secret)).toBe(false);
    expect(verify(r.body, header, 'mlwhsec_wrong')).toBe(false);
    expect(verify(r.body, header.replace(/v1=[0-9a-f]{4}/, 'v1=0000'), okEndpoint.secret)).toBe(false);
    expect(verify(r.body, `t=${Math.floor(Date.now() / 1000)},v1=${'ab'.repeat(32)}`, okEndpoint.secret)).toBe(false);
    expect(verify(r.body, undefined, okEndpoint.secret)).toBe(false);
    const t = Number(/t=(\d+)/.exec(header)![1]);
    expect(verify(r.body, header, okEndpoint.secret, 300, (t + 301) * 1000)).toBe(false);
  });
});
