import { createServer, type Server } from 'node:http';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsumer } from '../../functions/consumer/consumer.js';
import { lambdaContext } from '../../local/lambda.js';
import { freePort } from '../../local/net.js';
import type { LocalStack } from '../../local/stack.js';
import { type DomainEvent, domainEventSchema } from '../../shared/events/domain-events.js';
import type { UsageEvent } from '../../shared/metering/events.js';
import { MAX_BATCH_BYTES, usageRecordedBatches } from '../../shared/metering/usage-stream.js';
import { api, createTenant, eventually, startTestStack } from '../support/stack.js';

async function receiver() {
  const received: DomainEvent[] = [];
  const bodies: string[] = [];
  const port = await freePort();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString('utf8'));
      received.push(JSON.parse(bodies.at(-1)!) as DomainEvent);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((done) => server.listen(port, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${port}/usage`,
    received,
    bodies,
    stop: () => new Promise<void>((done) => (server.closeAllConnections(), server.close(() => done()))),
  };
}

describe('usage.recorded on the local stack', () => {
  let stack: LocalStack;
  let hook: Awaited<ReturnType<typeof receiver>>;
  let streamer: string;
  let quiet: string;
  beforeAll(async () => {
    stack = await startTestStack();
    hook = await receiver();
    streamer = await createTenant(stack, 'streamer');
    quiet = await createTenant(stack, 'quiet');
  });
  afterAll(async () => {
    await hook?.stop();
    await stack?.stop();
  });

  const post = (key: string, meter: string, ids: string[]) =>
    api(
      stack,
      'POST',
      '/v1/events',
      key,
      // Text, so that the long number reaches the API as spelled.
      `[${ids.map((id) => `{"id":"${id}","meter":"${meter}","timestamp":"${new Date().toISOString()}","properties":{"route":"eu","big":12345678901234567890}}`).join(',')}]`,
    );

  it('delivers each counted event of a subscribed meter once, in batches; a tenant without the stream gets nothing', async () => {
    const created = await api(stack, 'POST', '/v1/webhooks', streamer, {
      url: hook.url,
      eventTypes: ['usage.recorded', 'usage.corrected'],
      meters: ['orders'],
    });
    expect(created).toMatchObject({ status: 201, body: { meters: ['orders'] } });
    const ids = Array.from({ length: 300 }, (_, i) => `o-${i}`);
    for (let i = 0; i < ids.length; i += 100) expect((await post(streamer, 'orders', ids.slice(i, i + 100))).status).toBe(202);
    expect((await post(streamer, 'api_calls', ['a-1', 'a-2'])).status).toBe(202);
    expect((await post(quiet, 'orders', ['q-1', 'q-2'])).status).toBe(202);
    // A re-sent event is a duplicate: counted once, announced once.
    expect((await post(streamer, 'orders', ['o-0'])).status).toBe(202);
    await stack.drained();

    const batches = await eventually(
      async () => hook.received.filter((e) => e.type === 'usage.recorded') as DomainEvent<'usage.recorded'>[],
      (b) => new Set(b.flatMap((e) => e.data.events.map((r) => r.eventId))).size >= ids.length,
    );
    await stack.drained();
    for (const b of batches) expect(domainEventSchema.safeParse(b).success).toBe(true);
    // Webhooks are delivered at least once; a batch delivered again carries the same id, and no event is in two batches.
    const unique = [...new Map(batches.map((b) => [b.id, b])).values()];
    const delivered = unique.flatMap((b) => b.data.events.map((e) => e.eventId));
    expect(delivered.sort()).toEqual([...ids].sort());
    expect(unique.length).toBeLessThan(20);
    expect(new Set(batches.map((b) => b.tenantId))).toEqual(new Set(['streamer']));
    expect(new Set(batches.map((b) => b.data.meter))).toEqual(new Set(['orders']));
    // Properties arrive as sent, numbers exact.
    expect(hook.bodies[0]).toContain('"big":12345678901234567890');

    const onBus = stack.eventBus.events.filter((e) => e.detailType === 'usage.recorded');
    expect(onBus.map((e) => (e.detail as DomainEvent).tenantId).every((t) => t === 'streamer')).toBe(true);
    const busBatches = new Map(onBus.map((e) => [(e.detail as DomainEvent).id, e.detail as DomainEvent<'usage.recorded'>]));
    expect([...busBatches.values()].flatMap((b) => b.data.events)).toHaveLength(ids.length);
  });

  it('announces a void as usage.corrected', async () => {
    expect(await api(stack, 'POST', '/v1/events/o-7/corrections', streamer, { correctionId: 'void-o-7', action: 'void' })).toMatchObject({
      status: 201,
    });
    const [corrected] = await eventually(
      async () => hook.received.filter((e) => e.type === 'usage.corrected') as DomainEvent<'usage.corrected'>[],
      (c) => c.length > 0,
    );
    expect(domainEventSchema.safeParse(corrected).success).toBe(true);
    expect(corrected!.data).toMatchObject({ eventId: 'o-7', meter: 'orders', action: 'void', correctionId: 'void-o-7' });
    expect(corrected!.id).toBe('usage.corrected:streamer:void-o-7');
  });
});

describe('usage.recorded batches', () => {
  const event = (n: number, meter = 'orders'): UsageEvent => ({
    tenantId: 't',
    id: `e-${n}`,
    meter,
    aggregation: 'SUM',
    timestamp: '2026-11-01T00:00:00.000Z',
    value: '1.5',
    groupKey: '',
    properties: JSON.stringify({ pad: 'x'.repeat(1000) }),
    payloadHash: 'h',
    receivedAt: '2026-11-01T00:00:01.000Z',
  });

  it('stay within one EventBridge entry, group by meter and keep their id whatever the moment', () => {
    const events = [...Array.from({ length: 600 }, (_, i) => event(i)), event(9999, 'tokens')];
    const batches = usageRecordedBatches(events, '2026-11-01T00:00:02.000Z');
    for (const b of batches)
      expect(Buffer.byteLength(JSON.stringify(b)) + 'usage.recorded'.length + 'meterline'.length).toBeLessThan(256 * 1024);
    for (const b of batches) expect(Buffer.byteLength(JSON.stringify(b))).toBeLessThanOrEqual(MAX_BATCH_BYTES);
    expect(batches.flatMap((b) => b.data.events)).toHaveLength(601);
    expect(batches.filter((b) => b.data.meter === 'tokens')).toHaveLength(1);
    expect(usageRecordedBatches(events, '2027-01-01T00:00:00.000Z').map((b) => b.id)).toEqual(batches.map((b) => b.id));
  });

  it('a batch that could not be announced fails its message, and the redelivery announces it under the same id', async () => {
    const e = event(1);
    const published: DomainEvent[] = [];
    let fail = true;
    let counted = true;
    const consumer = createConsumer({
      commit: async (messages) => {
        const events = messages.flatMap((m) => m.events);
        const outcome = {
          counted: counted ? events : [],
          duplicates: counted ? [] : events,
          reused: [],
          quarantined: [],
          failed: [],
          writeUnits: 0,
        };
        counted = false;
        return outcome;
      },
      recordRejections: async () => undefined,
      streams: async () => true,
      publish: async (p) => {
        if (fail) throw new Error('bus down');
        published.push(p);
      },
      now: Date.now,
    });
    const sqs = (receiveCount: number): SQSEvent =>
      ({
        Records: [
          {
            messageId: 'm-1',
            body: JSON.stringify({ id: 'msg-1', events: [e] }),
            attributes: { ApproximateReceiveCount: String(receiveCount) },
          },
        ],
      }) as unknown as SQSEvent;
    expect(await consumer(sqs(1), lambdaContext('consumer'))).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-1' }] });
    fail = false;
    expect(await consumer(sqs(2), lambdaContext('consumer'))).toEqual({ batchItemFailures: [] });
    expect(published.map((p) => p.id)).toEqual(usageRecordedBatches([e], 'any').map((b) => b.id));
    // A first receive's duplicates (a client's re-send) are not announced again.
    expect(await consumer(sqs(1), lambdaContext('consumer'))).toEqual({ batchItemFailures: [] });
    expect(published).toHaveLength(1);
  });
});
