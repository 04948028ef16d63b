import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createAlertEvaluator } from '../../functions/alert-evaluator/alert-evaluator.js';
import { startEventBridge } from '../../local/eventbridge.js';
import { lambdaContext } from '../../local/lambda.js';
import type { LocalStack } from '../../local/stack.js';
import { type DeliveryPorts, workDelivery } from '../../shared/alerts/notifications.js';
import { type Alert, type AlertFiring, crossedRules, type PeriodSnapshot } from '../../shared/alerts/rules.js';
import {
  type Delivery,
  MAX_QUEUE_DELAY_SECONDS,
  queueDelaySeconds,
  RETRY_WINDOW_SECONDS,
  refusedAddress,
  retryDelaySeconds,
} from '../../shared/alerts/webhooks.js';
import type { DomainEvent } from '../../shared/events/domain-events.js';
import { api, createAdminKey, createTenant, startTestStack } from '../support/stack.js';

describe('usage alerts on the local stack', () => {
  let stack: LocalStack;
  let key: string;
  beforeAll(async () => {
    stack = await startTestStack();
    key = await createTenant(stack, 'acme');
  });
  afterAll(() => stack?.stop());

  const post = async (ids: string[]) => {
    await api(
      stack,
      'POST',
      '/v1/events',
      key,
      ids.map((id) => ({ id, meter: 'orders', timestamp: new Date().toISOString() })),
    );
    await stack.drained();
  };

  it('fires a quantity rule once per period, over the calendar month without a subscription', async () => {
    expect(await api(stack, 'PUT', '/v1/alerts/orders-4', key, { meter: 'orders', threshold: 4, name: 'Four orders' })).toMatchObject({
      status: 201,
      body: { kind: 'quantity' },
    });
    await post(['a', 'b']);
    expect(await stack.runSchedule('alert-evaluator')).toMatchObject({ tenants: 1, fired: 0 });
    await post(['c', 'd', 'e']);
    expect(await stack.runSchedule('alert-evaluator')).toMatchObject({ fired: 1, notified: 1 });
    expect(await stack.runSchedule('alert-evaluator')).toMatchObject({ fired: 0, notified: 0 });
    const listed = await api(stack, 'GET', '/v1/alerts', key);
    expect(listed.body.alerts[0]).toMatchObject({
      id: 'orders-4',
      threshold: '4',
      firing: { value: '5', threshold: '4', notifiedAt: expect.any(String) },
    });
    expect(stack.eventBus.events.map((e) => e.detailType)).toEqual(['usage.threshold_crossed']);
  });

  it('validates rules with codes and fields', async () => {
    expect(await api(stack, 'PUT', '/v1/alerts/x', key, { meter: 'orders', threshold: -1 })).toMatchObject({
      status: 400,
      body: { field: 'threshold' },
    });
    expect(await api(stack, 'PUT', '/v1/alerts/x', key, { meter: 'nope', threshold: 1 })).toMatchObject({
      status: 404,
      body: { field: 'meter' },
    });
    expect(await api(stack, 'PUT', '/v1/alerts/Bad Id', key, { meter: 'orders', threshold: 1 })).toMatchObject({
      status: 400,
      body: { field: 'alertId' },
    });
    expect(await api(stack, 'PUT', '/v1/alerts/x', key, { kind: 'percent', meter: 'orders', of: 'plan', percent: 80 })).toMatchObject({
      status: 400,
      body: { field: 'of' },
    });
    // An amount is read exactly as spelled, so a float's long tail is more precision than money may carry.
    expect(await api(stack, 'PUT', '/v1/alerts/x', key, { kind: 'spend', basis: 'current', amount: 0.1 + 0.2 })).toMatchObject({
      status: 400,
      body: { field: 'amount' },
    });
    expect(await api(stack, 'PUT', '/v1/alerts/x', key, { kind: 'spend', basis: 'current', amount: '0' })).toMatchObject({
      status: 400,
      body: { field: 'amount' },
    });
    expect(await api(stack, 'PUT', '/v1/alerts/x', key, { kind: 'weird' })).toMatchObject({ status: 400, body: { field: 'kind' } });
    expect(await api(stack, 'DELETE', '/v1/alerts/missing', key)).toMatchObject({ status: 404 });
    expect(await api(stack, 'GET', '/v1/alerts/missing', key)).toMatchObject({ status: 404, body: { field: 'alertId' } });
    expect(await api(stack, 'PUT', '/v1/alerts/x', key, { kind: 'anomaly', sensitivity: 'extreme' })).toMatchObject({
      status: 400,
      body: { field: 'sensitivity' },
    });
    expect(await api(stack, 'PUT', '/v1/alerts/x', key, { kind: 'silence', afterMinutes: 5 })).toMatchObject({
      status: 400,
      body: { field: 'afterMinutes' },
    });
    expect(await api(stack, 'PUT', '/v1/alerts/x', key, { kind: 'anomaly', meter: 'nope' })).toMatchObject({
      status: 404,
      body: { field: 'meter' },
    });
  });

  it('announces a silence once and its end once, and lists the episode with the rule', async () => {
    expect(await api(stack, 'PUT', '/v1/alerts/orders-stopped', key, { kind: 'silence', meter: 'orders', afterMinutes: 15 })).toMatchObject(
      { status: 201 },
    );
    expect(await api(stack, 'PUT', '/v1/alerts/odd-orders', key, { kind: 'anomaly', meter: 'orders' })).toMatchObject({
      status: 201,
      body: { sensitivity: 'medium' },
    });
    const t0 = Date.now();
    const at = (minutes: number) => new Date(t0 + minutes * 60_000);
    const announced = () =>
      stack.eventBus.events.filter((e) => e.detailType.startsWith('usage.silent') || e.detailType === 'usage.resumed');
    await post(['s1']);
    await stack.runSchedule('alert-evaluator', at(0)); // the first reading starts the clock
    await stack.runSchedule('alert-evaluator', at(10));
    expect(announced()).toEqual([]);
    expect(await stack.runSchedule('alert-evaluator', at(16))).toMatchObject({ episodes: 1, notified: 1 });
    expect(await stack.runSchedule('alert-evaluator', at(21))).toMatchObject({ episodes: 0, notified: 0 });
    const adminKey = await createAdminKey(stack);
    expect((await api(stack, 'GET', '/v1/admin/console', adminKey)).body.silentTenants).toEqual([
      { tenantId: 'acme', alertId: 'orders-stopped', meter: 'orders', since: at(0).toISOString(), expectedGapMinutes: 15 },
    ]);
    await post(['s2']);
    expect(await stack.runSchedule('alert-evaluator', at(26))).toMatchObject({ episodes: 0, notified: 1 });
    expect(await stack.runSchedule('alert-evaluator', at(31))).toMatchObject({ episodes: 0, notified: 0 });
    expect(announced().map((e) => e.detailType)).toEqual(['usage.silent', 'usage.resumed']);
    const listed = await api(stack, 'GET', '/v1/alerts', key);
    const rule = listed.body.alerts.find((a: { id: string }) => a.id === 'orders-stopped');
    expect(rule).toMatchObject({
      kind: 'silence',
      episodes: [
        { meter: 'orders', window: 'silence', start: at(0).toISOString(), expectedGapMinutes: 15, resolvedAt: at(26).toISOString() },
      ],
    });
    expect((await api(stack, 'GET', '/v1/alerts/orders-stopped', key)).body.episodes).toEqual(rule.episodes);
    // Resumed, and a deleted rule's watches go with it (an open silence of a deleted rule is no one's).
    expect((await api(stack, 'DELETE', '/v1/alerts/orders-stopped', key)).status).toBe(204);
    expect((await api(stack, 'GET', '/v1/admin/console', adminKey)).body.silentTenants).toEqual([]);
    // Too little history for the anomaly rule: it judged windows and opened nothing.
    expect(listed.body.alerts.find((a: { id: string }) => a.id === 'odd-orders')).toMatchObject({ episodes: [] });
  });
});

describe('rules', () => {
  const snapshot = (over: Partial<PeriodSnapshot> = {}): PeriodSnapshot => ({
    period: { start: 0, end: 1 },
    usage: new Map([['api_calls', '800']]),
    billable: new Map([['api_calls', '800']]),
    included: new Map([['api_calls', '1000']]),
    quotas: new Map([['api_calls', '2000']]),
    spend: { currency: 'USD', current: '299.00', projected: '412.50' },
    ...over,
  });
  const rule = (a: Partial<Alert> & Pick<Alert, 'kind'>): Alert => ({ id: 'r', tenantId: 't', createdAt: '', ...a }) as Alert;

  it('resolves percentages against the included quota or the hard quota, and spend against the chosen basis', () => {
    const crossed = (a: Alert, s = snapshot()) => crossedRules([a], s).map(({ value, threshold }) => ({ value, threshold }));
    expect(crossed(rule({ kind: 'percent', meter: 'api_calls', of: 'included', percent: '80' }))).toEqual([
      { value: '800', threshold: '800' },
    ]);
    expect(crossed(rule({ kind: 'percent', meter: 'api_calls', of: 'included', percent: '80.5' }))).toEqual([]);
    expect(crossed(rule({ kind: 'percent', meter: 'api_calls', of: 'quota', percent: '40' }))).toEqual([
      { value: '800', threshold: '800' },
    ]);
    expect(
      crossed(rule({ kind: 'percent', meter: 'api_calls', of: 'included', percent: '80' }), snapshot({ included: new Map() })),
    ).toEqual([]);
    expect(crossed(rule({ kind: 'spend', basis: 'projected', amount: '400.00' }))).toEqual([{ value: '412.50', threshold: '400.00' }]);
    expect(crossed(rule({ kind: 'spend', basis: 'current', amount: '400.00' }))).toEqual([]);
    expect(crossed(rule({ kind: 'spend', basis: 'current', amount: '1' }), snapshot({ spend: undefined }))).toEqual([]);
  });
});

describe('webhook retry schedule', () => {
  it('backs off exponentially, at most 4 hours apart, and keeps trying for at least 24 hours', () => {
    let t = 0;
    const waits: number[] = [];
    for (let attempt = 1; ; attempt++) {
      const d = retryDelaySeconds(attempt, 0, t * 1000, 30);
      if (d === undefined) break;
      waits.push(d);
      t += d;
    }
    expect(waits.slice(0, 4)).toEqual([30, 60, 120, 240]);
    expect(t).toBeGreaterThanOrEqual(RETRY_WINDOW_SECONDS);
    expect(Math.max(...waits)).toBe(4 * 3600);
    expect(waits.length + 1).toBe(15);
  });

  it('never asks SQS for more than 900 s, and never gives up before 24 hours (any base, any jitter)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 600 }),
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0, max: 0.999, noNaN: true }),
        fc.nat(100 * 3600),
        (base, attempt, jitter, elapsed) => {
          const d = retryDelaySeconds(attempt, 0, elapsed * 1000, base, jitter);
          if (elapsed < RETRY_WINDOW_SECONDS) expect(d).toBeGreaterThan(0);
          else expect(d).toBeUndefined();
          if (d !== undefined)
            expect(queueDelaySeconds(elapsed * 1000 + d * 1000, elapsed * 1000)).toBeLessThanOrEqual(MAX_QUEUE_DELAY_SECONDS);
        },
      ),
    );
  });

  it('a retry due in 2 hours hops on the queue in waits of at most 900 s, then is attempted once', async () => {
    let now = 0;
    const sent: number[] = [];
    let posts = 0;
    const delivery: Delivery = {
      id: 'd',
      tenantId: 't',
      endpointId: 'e',
      eventId: 'x',
      eventType: 'quota.exceeded',
      payload: '{}',
      status: 'pending',
      attempts: [],
      createdAt: '',
    };
    const ports: DeliveryPorts = {
      deliveries: { getDelivery: async () => delivery, recordAttempt: async () => undefined },
      endpoints: {
        getEndpoint: async () => ({
          id: 'e',
          tenantId: 't',
          url: 'https://example.com',
          eventTypes: ['quota.exceeded'],
          secret: 's',
          previousSecrets: [],
          createdAt: '',
        }),
      },
      queue: { send: async (_m, delay) => void sent.push(delay) },
      post: async () => (posts++, 200),
      retryBaseSeconds: 30,
      now: () => now,
      random: () => 0,
    };
    const message = { tenantId: 't', deliveryId: 'd', dueAt: new Date(7200_000).toISOString(), seriesStart: new Date(0).toISOString() };
    while ((await workDelivery(ports, message)) === 'waiting') now += sent.at(-1)! * 1000;
    expect(sent).toEqual([900, 900, 900, 900, 900, 900, 900, 900]);
    expect(posts).toBe(1);
  });
});

describe('SSRF guard', () => {
  it('refuses private, loopback, link-local and metadata addresses; local runs admit loopback only', () => {
    for (const a of [
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '127.0.0.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      'fe80::1',
      'fd00::1',
      '::ffff:10.0.0.1',
      '224.0.0.1',
    ]) {
      expect(refusedAddress(a, false), a).toEqual(expect.any(String));
    }
    for (const a of ['93.184.216.34', '2606:4700::1111', '8.8.8.8']) expect(refusedAddress(a, false), a).toBeUndefined();
    expect(refusedAddress('127.0.0.1', true)).toBeUndefined();
    expect(refusedAddress('::1', true)).toBeUndefined();
    expect(refusedAddress('10.0.0.1', true)).toEqual(expect.any(String));
    expect(refusedAddress('169.254.169.254', true)).toEqual(expect.any(String));
  });
});

describe('local doubles keep AWS limits', () => {
  it('the SQS emulator refuses DelaySeconds over 900, as SQS does', async () => {
    const sqs = new SQSClient({
      region: 'us-east-1',
      endpoint: inject('sqsEndpoint'),
      credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
    });
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `delay-limit-${Date.now()}` }));
    await expect(sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'x', DelaySeconds: 900 }))).resolves.toBeDefined();
    await expect(sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'x', DelaySeconds: 901 }))).rejects.toThrow(/DelaySeconds/);
  });

  it('the EventBridge emulator answers the real client, per entry, within PutEvents limits', async () => {
    const bus = await startEventBridge(['meterline-test']);
    try {
      const client = new EventBridgeClient({
        region: 'us-east-1',
        endpoint: bus.endpoint,
        credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
      });
      const entry = { EventBusName: 'meterline-test', Source: 'meterline', DetailType: 'quota.exceeded', Detail: '{"id":"a"}' };
      const r = await client.send(
        new PutEventsCommand({ Entries: [entry, { ...entry, EventBusName: 'other' }, { ...entry, Detail: '[1]' }] }),
      );
      expect(r.FailedEntryCount).toBe(2);
      expect(r.Entries?.map((e) => e.ErrorCode ?? 'ok')).toEqual(['ok', 'NotAuthorizedForSourceException', 'MalformedDetail']);
      expect(bus.events).toMatchObject([{ bus: 'meterline-test', source: 'meterline', detailType: 'quota.exceeded', detail: { id: 'a' } }]);
      await expect(client.send(new PutEventsCommand({ Entries: Array.from({ length: 11 }, () => entry) }))).rejects.toThrow(/length/);
      await expect(
        client.send(new PutEventsCommand({ Entries: [{ ...entry, Detail: JSON.stringify({ x: 'y'.repeat(256 * 1024) }) }] })),
      ).rejects.toThrow(/size/);
    } finally {
      await bus.stop();
    }
  });
});

describe('alert evaluator', () => {
  it('retries a failed publication on the next run without firing twice, and one failing tenant spares the rest', async () => {
    const firings = new Map<string, AlertFiring>();
    const sent: DomainEvent[] = [];
    let busDown = true;
    const alert = (tenantId: string): Alert => ({
      id: 'big',
      tenantId,
      kind: 'quantity',
      meter: 'api_calls',
      threshold: '1000',
      createdAt: '',
    });
    const evaluate = createAlertEvaluator({
      tenantIds: async () => ['t1', 'broken', 't2'],
      alerts: {
        listAlerts: async (tenantId) => {
          if (tenantId === 'broken') throw new Error('table unavailable');
          return [alert(tenantId)];
        },
        firings: async (tenantId) => [...firings].filter(([k]) => k.startsWith(tenantId)).map(([, f]) => f),
        recordFiring: async (tenantId, f) =>
          firings.has(`${tenantId}:${f.alertId}`) ? false : (firings.set(`${tenantId}:${f.alertId}`, f), true),
        markNotified: async (tenantId, f, at) => void firings.set(`${tenantId}:${f.alertId}`, { ...f, notifiedAt: at }),
        watches: async () => [],
        saveWatch: async () => true,
      },
      reads: {
        billing: {
          plan: async () => undefined,
          meters: async () => [{ key: 'api_calls', name: 'API calls', unit: 'call', aggregation: 'COUNT', groupBy: [] }],
          quantity: async () => '1500',
        },
        quotaReads: { quantity: async () => '1500', level: async () => '0' },
        subscription: async () => undefined,
        quotas: async () => [],
        credits: async () => ({ grants: [], entries: [] }),
      },
      counters: { values: async () => [] },
      invoices: {
        progressiveInvoices: async () => [],
        issueProgressive: async () => undefined,
        credits: async () => ({ grants: [], entries: [] }),
        markAnnounced: async () => {},
        listPauses: async () => [],
      },
      sendToStripe: async () => undefined,
      publish: async (n) => {
        if (busDown && n.tenantId === 't1') throw new Error('bus down');
        sent.push(n);
      },
      now: () => Date.parse('2026-11-23T10:00:00Z'),
    });
    const invocation = { source: 'meterline.schedule' as const, schedule: 'alert-evaluator', time: '2026-11-23T10:00:00Z' };
    const first = await evaluate(invocation, lambdaContext());
    expect(first).toMatchObject({ fired: 2, notified: 1 });
    expect(first.failedTenants.sort()).toEqual(['broken', 't1']);
    busDown = false;
    expect(await evaluate(invocation, lambdaContext())).toMatchObject({ fired: 0, notified: 1 });
    expect(sent.map((n) => n.id).sort()).toEqual([
      'usage.threshold_crossed:t1:big:2026-11-01T00:00:00.000Z',
      'usage.threshold_crossed:t2:big:2026-11-01T00:00:00.000Z',
    ]);
  });
});
