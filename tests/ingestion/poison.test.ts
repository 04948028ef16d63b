import { gzipSync } from 'node:zlib';
import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { CloudEvent, HTTP } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsumer } from '../../functions/consumer/consumer.js';
import type { LocalStack } from '../../local/stack.js';
import type { DomainEvent } from '../../shared/events/domain-events.js';
import { Dec } from '../../shared/kernel/decimal.js';
import { DynamoRejectionStore } from '../../shared/metering/adapters/rejection-store.js';
import { DynamoUsageWriter } from '../../shared/metering/adapters/usage-writer.js';
import type { Meter } from '../../shared/metering/meters.js';
import { seedMeters } from '../../shared/metering/seed-meters.js';
import { httpDocuments } from '../../shared/platform/dynamo/http-documents.js';
import { refuseEventWrites, refuseFolds } from '../support/faults.js';
import { api, createAdminKey, createTenant, eventually, startTestStack } from '../support/stack.js';

/**
 * The hostile client's probes, through the local stack: every odd event is counted, rejected with a code or
 * quarantined with a reason; none takes a good event with it, none reaches the DLQ, none gets a 5xx.
 */
const meters: Meter[] = [...seedMeters, { key: 'tokens', name: 'Tokens', unit: 'token', aggregation: 'SUM', groupBy: ['model'] }];

/**
 * The consumer's DynamoDB refuses, as for bad data, every write counting an event whose id starts with "refused-"
 * (its claim, or its replay), and every fold adding an amount with a fraction of .77 (as it would refuse a sum past
 * its 38 digits): only the event bringing that fraction, "overflow-1", may be held back for it.
 */
const refusing = { on: true };

describe('poison events and odd edges', () => {
  let stack: LocalStack;
  let key: string;
  let admin: string;
  const announced: DomainEvent[] = [];
  const now = () => new Date().toISOString();
  const post = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${stack.apiUrl}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : body instanceof Uint8Array ? Buffer.from(body) : JSON.stringify(body),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
  const orders = (prefix: string, n: number) =>
    Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i}`, meter: 'orders', timestamp: now() }));
  const current = async (meter: string) =>
    (await api(stack, 'GET', '/v1/usage/current', key)).body.meters.find((m: { meter: string }) => m.meter === meter).value as string;
  const dlqDepth = async () =>
    Number(
      (
        await stack.sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: stack.queues.usageDlqUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
        )
      ).Attributes!.ApproximateNumberOfMessages,
    );

  beforeAll(async () => {
    stack = await startTestStack({
      consumer: () => {
        const db = refuseFolds(
          refuseEventWrites(httpDocuments(), (id) => refusing.on && id.startsWith('refused-')),
          (amount) => refusing.on && amount.endsWith('.77'),
        );
        const store = new DynamoUsageWriter(db, {
          eventsTable: process.env.EVENTS_TABLE!,
          countersTable: process.env.COUNTERS_TABLE!,
          ledgerRetentionDays: 40,
        });
        const rejections = new DynamoRejectionStore(db, process.env.REJECTIONS_TABLE!, 40);
        return createConsumer({
          commit: (events) => store.commit(events),
          recordRejections: (b) => rejections.record(b),
          publish: async (e) => void announced.push(e),
          streams: async () => false,
          now: Date.now,
        });
      },
    });
    key = await createTenant(stack, 'acme', meters);
    admin = await createAdminKey(stack);
  });
  afterAll(() => stack?.stop());

  it('counts 50 orders beside a {"constructor":"x"} and a {"":1} event, and those two as well', async () => {
    const batch: unknown[] = [
      ...orders('c', 25),
      { id: 'ctor', meter: 'orders', timestamp: now(), properties: { constructor: 'x', __proto__: 'y', toString: 1 } },
      { id: 'empty-name', meter: 'orders', timestamp: now(), properties: { '': 1 } },
      ...orders('d', 25),
    ];
    // JSON.stringify drops a literal __proto__ key; write the body as a client would send it.
    const res = await post(JSON.stringify(batch).replace('"constructor":"x"', '"constructor":"x","__proto__":"y"'));
    expect(res).toMatchObject({ status: 202, body: { accepted: 52, rejected: 0 } });
    await stack.drained();
    expect(await current('orders')).toBe('52');
    expect(await dlqDepth()).toBe(0);
    const ctor = await api(stack, 'GET', '/v1/events/ctor', key);
    expect(ctor).toMatchObject({ status: 200, body: { status: 'counted', properties: { constructor: 'x', __proto__: 'y', toString: 1 } } });
  });

  it('rejects properties deeper than 32 levels, and 10,000 levels, per event, before anything recursive runs', async () => {
    const nest = (depth: number) => JSON.parse(`${'{"a":'.repeat(depth - 1)}{"leaf":1}${'}'.repeat(depth - 1)}`);
    const body =
      `[${JSON.stringify({ id: 'ok-32', meter: 'orders', timestamp: now(), properties: nest(32) })},` +
      `${JSON.stringify({ id: 'deep-33', meter: 'orders', timestamp: now(), properties: nest(33) })},` +
      `{"id":"deep-10000","meter":"orders","timestamp":"${now()}","properties":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}},` +
      `${JSON.stringify(orders('deep-good', 1)[0])}]`;
    const res = await post(body);
    expect(res.status).toBe(202);
    expect(res.body.results.map((r: { status: string; code?: string; field?: string }) => [r.status, r.code, r.field])).toEqual([
      ['accepted', undefined, undefined],
      ['rejected', 'INVALID_PROPERTIES', 'properties'],
      ['rejected', 'INVALID_PROPERTIES', 'properties'],
      ['accepted', undefined, undefined],
    ]);
  });

  it('rejects a 1 KB group-by value with its field, and counts the events beside it', async () => {
    const res = await post([
      { id: 'g-big', meter: 'ai_jobs', timestamp: now(), properties: { job_type: 'x'.repeat(1024) } },
      { id: 'g-ok', meter: 'ai_jobs', timestamp: now(), properties: { job_type: 'x'.repeat(64) } },
      { id: 'g-obj', meter: 'ai_jobs', timestamp: now(), properties: { job_type: { nested: true } } },
    ]);
    expect(res.body.results.map((r: { status: string; code?: string; field?: string }) => [r.status, r.code, r.field])).toEqual([
      ['rejected', 'INVALID_PROPERTIES', 'properties.job_type'],
      ['accepted', undefined, undefined],
      ['rejected', 'INVALID_PROPERTIES', 'properties.job_type'],
    ]);
    await stack.drained();
    expect(await current('ai_jobs')).toBe('1');
  });

  it('reads JSON numbers from their text: 9007199254740993 stays itself, 10^18 + 1 is refused', async () => {
    const res = await post(
      `[{"id":"n-1","meter":"tokens","timestamp":"${now()}","value":9007199254740993},` +
        `{"id":"n-2","meter":"tokens","timestamp":"${now()}","value":1000000000000000001},` +
        `{"id":"n-3","meter":"tokens","timestamp":"${now()}","value":0.100000000000000000001},` +
        `{"id":"n-4","meter":"tokens","timestamp":"${now()}","value":1e2,"properties":{"model":12345678901234567890}}]`,
    );
    expect(res.body.results.map((r: { status: string; code?: string }) => [r.status, r.code])).toEqual([
      ['accepted', undefined],
      ['rejected', 'INVALID_VALUE'],
      ['rejected', 'INVALID_VALUE'],
      ['accepted', undefined],
    ]);
    await stack.drained();
    expect(await current('tokens')).toBe('9007199254741093');
    const stored = await fetch(`${stack.apiUrl}/v1/events/n-4`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.text());
    expect(stored).toContain('"properties":{"model":12345678901234567890}');
    expect(JSON.parse(stored).counters).toContainEqual(
      expect.objectContaining({ granularity: 'month', group: 'model=12345678901234567890' }),
    );
  });

  it('refuses an explicit value other than 1 on a COUNT meter', async () => {
    const res = await post([-5, 'abc', 2, 1].map((value, i) => ({ id: `cv-${i}`, meter: 'orders', timestamp: now(), value })));
    expect(res.body.results.map((r: { code?: string }) => r.code)).toEqual(['INVALID_VALUE', 'INVALID_VALUE', 'INVALID_VALUE', undefined]);
  });

  it('answers a re-used id with a different payload ID_REUSED, an equal one duplicate', async () => {
    const first = { id: 'reuse-1', meter: 'tokens', timestamp: now(), value: '5', properties: { model: 'a', n: 1.0 } };
    expect((await post(first)).body.results[0].status).toBe('accepted');
    await stack.drained();
    const same = { properties: { n: 1, model: 'a' }, value: '5.0', id: 'reuse-1', meter: 'tokens', timestamp: first.timestamp };
    expect((await post(same)).body.results[0].status).toBe('duplicate');
    const other = { ...first, value: '6' };
    expect((await post(other)).body.results[0]).toMatchObject({ status: 'rejected', code: 'ID_REUSED' });
    // Within one request too.
    const twice = await post([
      { ...first, id: 'reuse-2' },
      { ...first, id: 'reuse-2', value: '7' },
    ]);
    expect(twice.body.results.map((r: { status: string; code?: string }) => r.code ?? r.status)).toEqual(['accepted', 'ID_REUSED']);
    const listed = await api(stack, 'GET', '/v1/events?status=rejected', key);
    expect(
      listed.body.events
        .filter((e: { code: string }) => e.code === 'ID_REUSED')
        .map((e: { id: string }) => e.id)
        .sort(),
    ).toEqual(['reuse-1', 'reuse-2']);
  });

  it('notices a re-used id in the consumer when both payloads were in flight at once', async () => {
    const base = { id: 'race-1', meter: 'tokens', timestamp: now(), properties: { model: 'r' } };
    await Promise.all([post({ ...base, value: '1' }), post({ ...base, value: '2' })]);
    await stack.drained();
    const counted = await api(stack, 'GET', '/v1/events/race-1', key);
    expect(['1', '2']).toContain(counted.body.value);
    const rejected = await eventually(
      () => api(stack, 'GET', '/v1/events?status=rejected', key),
      (r) => r.body.events.some((e: { id?: string }) => e.id === 'race-1'),
    );
    expect(rejected.body.events.find((e: { id?: string }) => e.id === 'race-1')).toMatchObject({ code: 'ID_REUSED' });
  });

  it('decodes path parameters safely and length-checks them; unknown routes answer with a code', async () => {
    expect(await api(stack, 'GET', '/v1/invoices/%E0%A4%A', key)).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    expect(await api(stack, 'GET', `/v1/invoices/${'x'.repeat(5000)}`, key)).toMatchObject({
      status: 400,
      body: { code: 'INVALID_REQUEST', field: 'id' },
    });
    expect(await api(stack, 'GET', `/v1/events/${'x'.repeat(5000)}`, key)).toMatchObject({
      status: 400,
      body: { code: 'INVALID_REQUEST', field: 'id' },
    });
    expect(await api(stack, 'GET', '/v1/nothing/here', key)).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    expect(await api(stack, 'DELETE', '/v1/events', key)).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
  });

  it('refuses a charset other than UTF-8 and bodies that are not UTF-8; decodes gzip', async () => {
    const latin1 = Buffer.from(JSON.stringify({ id: 'caf\u00e9', meter: 'orders', timestamp: now() }), 'latin1');
    expect(await post(latin1, { 'content-type': 'application/json; charset=iso-8859-1' })).toMatchObject({
      status: 415,
      body: { code: 'UNSUPPORTED_MEDIA_TYPE' },
    });
    expect(await post(latin1)).toMatchObject({ status: 400, body: { code: 'INVALID_JSON' } });
    const gz = gzipSync(JSON.stringify(orders('gz', 3)));
    expect(await post(gz, { 'content-encoding': 'gzip' })).toMatchObject({ status: 202, body: { accepted: 3 } });
    expect(await post(Buffer.from('not gzip'), { 'content-encoding': 'gzip' })).toMatchObject({
      status: 400,
      body: { code: 'INVALID_REQUEST' },
    });
    expect(await post(gz, { 'content-encoding': 'br' })).toMatchObject({ status: 415, body: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
  });

  it('takes CloudEvents from the official SDK in binary, structured and batch mode', async () => {
    const ce = (id: string, data: Record<string, unknown>) =>
      new CloudEvent({ id, type: 'seats', source: 'https://app.example/billing', subject: 'org-1', data });
    const binary = HTTP.binary(ce('ce-bin', { user_id: 'u-1' }));
    expect(await post(binary.body as string, binary.headers as Record<string, string>)).toMatchObject({
      status: 202,
      body: { accepted: 1 },
    });
    const structured = HTTP.structured(ce('ce-str', { user_id: 'u-2' }));
    expect(await post(structured.body as string, structured.headers as Record<string, string>)).toMatchObject({
      status: 202,
      body: { accepted: 1 },
    });
    const batch = [ce('ce-b1', { user_id: 'u-3' }), ce('ce-b2', { user_id: 'u-1' })];
    const body = JSON.stringify(batch);
    // The SDK reads the same body back as a batch: this is the wire format it speaks.
    expect(HTTP.toEvent({ headers: { 'content-type': 'application/cloudevents-batch+json' }, body })).toHaveLength(2);
    expect(await post(body, { 'content-type': 'application/cloudevents-batch+json' })).toMatchObject({
      status: 202,
      body: { accepted: 2 },
    });
    // A binary event the schema refuses is answered per event, naming the attribute.
    const bad = HTTP.binary(new CloudEvent({ id: 'ce-bad', type: 'nope', source: 's', data: {} }));
    expect((await post(bad.body as string, bad.headers as Record<string, string>)).body.results[0]).toMatchObject({
      code: 'UNKNOWN_METER',
      field: 'type',
    });
    await stack.drained();
    expect(await current('seats')).toBe('3');
    expect((await api(stack, 'GET', '/v1/events/ce-bin', key)).body).toMatchObject({
      status: 'counted',
      subject: 'org-1',
      properties: { user_id: 'u-1' },
    });
  });

  it('quarantines what no write can take, folds its neighbours, keeps the DLQ empty, and replays it once fixed', async () => {
    const before = await current('tokens');
    const good = (id: string) => ({ id, meter: 'tokens', timestamp: now(), value: '10', properties: { model: 'q' } });
    const overflow = { ...good('overflow-1'), value: '0.77' };
    expect((await post([good('q-1'), good('refused-1'), good('q-2'), overflow, good('q-3')])).body.accepted).toBe(5);
    // A message written past ingest: an event whose group key no counter key can hold.
    const event = {
      tenantId: 'acme',
      id: 'unkeyable',
      meter: 'tokens',
      aggregation: 'SUM',
      timestamp: now(),
      value: '1',
      groupKey: `model=${'x'.repeat(2000)}`,
      payloadHash: 'h',
      receivedAt: now(),
    };
    await stack.sqs.send(
      new SendMessageCommand({
        QueueUrl: stack.queues.usageQueueUrl,
        MessageBody: JSON.stringify({ events: [event, { ...event, id: 'q-4', groupKey: 'model=q' }] }),
      }),
    );
    await stack.drained();
    expect(await dlqDepth()).toBe(0);
    expect(new Dec(await current('tokens')).minus(before).toFixed()).toBe('31');
    // Each quarantine is announced to the tenant once, with its reason.
    expect(
      announced
        .filter((e) => e.type === 'event.quarantined')
        .map((e) => e.id)
        .sort(),
    ).toEqual(['event.quarantined:acme:overflow-1', 'event.quarantined:acme:refused-1', 'event.quarantined:acme:unkeyable']);
    expect(announced.find((e) => e.id === 'event.quarantined:acme:unkeyable')?.data).toMatchObject({
      eventId: 'unkeyable',
      meter: 'tokens',
      reason: expect.stringMatching(/counter key is \d+ bytes/),
    });

    const listed = await api(stack, 'GET', '/v1/events?status=quarantined', key);
    expect(listed.body.events.map((e: { id: string }) => e.id).sort()).toEqual(['overflow-1', 'refused-1', 'unkeyable']);
    expect(listed.body.events.find((e: { id: string }) => e.id === 'unkeyable').quarantine.reason).toMatch(/counter key is \d+ bytes/);
    expect((await api(stack, 'GET', '/v1/events/overflow-1', key)).body).toMatchObject({
      status: 'quarantined',
      quarantine: { reason: expect.stringMatching(/refused the write/) },
    });
    expect((await api(stack, 'GET', '/v1/events/refused-1', key)).body).toMatchObject({
      status: 'quarantined',
      counters: [],
      quarantine: { reason: expect.stringMatching(/refused the write/) },
    });
    const operators = await api(stack, 'GET', '/v1/admin/quarantine', admin);
    expect(operators.body.events.map((e: { tenantId: string; id: string }) => `${e.tenantId}/${e.id}`).sort()).toEqual([
      'acme/overflow-1',
      'acme/refused-1',
      'acme/unkeyable',
    ]);
    expect((await api(stack, 'GET', '/v1/admin/quarantine', key)).status).toBe(403);

    // A redelivery meets the quarantined entry: nothing is counted twice.
    expect((await post(good('refused-1'))).body.results[0].status).not.toBe('accepted');
    // The cause is fixed: the replay counts it once, a second replay finds nothing to do.
    refusing.on = false;
    const replayed = await api(stack, 'POST', '/v1/admin/tenants/acme/events/refused-1/replay', admin);
    expect(replayed).toMatchObject({ status: 200, body: { status: 'counted' } });
    expect((await api(stack, 'POST', '/v1/admin/tenants/acme/events/refused-1/replay', admin)).status).toBe(404);
    expect(await api(stack, 'POST', '/v1/admin/tenants/acme/events/unkeyable/replay', admin)).toMatchObject({
      status: 200,
      body: { status: 'quarantined' },
    });
    expect(new Dec(await current('tokens')).minus(before).toFixed()).toBe('41');
    expect((await api(stack, 'GET', '/v1/events/refused-1', key)).body).toMatchObject({ status: 'counted', countedAt: expect.any(String) });
    // The event whose fold was refused: its neighbours in the same message were folded, it is replayed once.
    expect(await api(stack, 'POST', '/v1/admin/tenants/acme/events/overflow-1/replay', admin)).toMatchObject({
      status: 200,
      body: { status: 'counted' },
    });
    expect(new Dec(await current('tokens')).minus(before).toFixed()).toBe('41.77');
  });

  it('lists rejected events by time with a cursor', async () => {
    const res = await post(Array.from({ length: 30 }, (_, i) => ({ id: `bad-${i}`, meter: 'nope', timestamp: now() })));
    expect(res.body.rejected).toBe(30);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await api(stack, 'GET', `/v1/events?status=rejected&limit=7${cursor ? `&cursor=${cursor}` : ''}`, key);
      expect(page.status).toBe(200);
      seen.push(...page.body.events.filter((e: { id?: string }) => e.id?.startsWith('bad-')).map((e: { id: string }) => e.id));
      cursor = page.body.cursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(30);
    expect(seen).toHaveLength(30);
    expect(await api(stack, 'GET', '/v1/events?status=rejected&cursor=garbage', key)).toMatchObject({
      status: 400,
      body: { code: 'INVALID_REQUEST', field: 'cursor' },
    });
    expect(await api(stack, 'GET', '/v1/events?status=lost', key)).toMatchObject({ status: 400, body: { field: 'status' } });
  });
});
