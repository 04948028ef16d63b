import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlertEvaluator } from '../../functions/alert-evaluator/alert-evaluator.js';
import type { LocalStack } from '../../local/stack.js';
import type { Alert, AlertFiring, AlertNotification } from '../../shared/alerts/rules.js';
import { lambdaContext } from '../support/events.js';
import { api, createTenant, startTestStack } from '../support/stack.js';

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

  it('fires once per period when a meter reaches the threshold', async () => {
    expect(await api(stack, 'PUT', '/v1/alerts/orders-4', key, { meter: 'orders', threshold: 4, name: 'Four orders' })).toMatchObject({
      status: 201,
    });
    await post(['a', 'b']);
    expect(await stack.runSchedule('alert-evaluator')).toMatchObject({ tenants: 1, fired: 0 });
    await post(['c', 'd', 'e']);
    expect(await stack.runSchedule('alert-evaluator')).toMatchObject({ fired: 1, notified: 1 });
    expect(await stack.runSchedule('alert-evaluator')).toMatchObject({ fired: 0, notified: 0 });
    const listed = await api(stack, 'GET', '/v1/alerts', key);
    expect(listed.body.alerts[0]).toMatchObject({ id: 'orders-4', threshold: '4', firing: { value: '5', notifiedAt: expect.any(String) } });
  });

  it('validates alerts with codes and fields', async () => {
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
    expect(await api(stack, 'DELETE', '/v1/alerts/missing', key)).toMatchObject({ status: 404 });
  });
});

describe('alert evaluator', () => {
  it('retries a failed notification on the next run without firing twice, and one failing tenant spares the rest', async () => {
    const firings = new Map<string, AlertFiring>();
    const sent: AlertNotification[] = [];
    let busDown = true;
    const alert = (tenantId: string): Alert => ({ id: 'big', tenantId, meter: 'api_calls', threshold: '1000', createdAt: '' });
    const evaluate = createAlertEvaluator({
      tenantIds: async () => ['t1', 'broken', 't2'],
      alerts: {
        listAlerts: async (tenantId) => {
          if (tenantId === 'broken') throw new Error('table unavailable');
          return [alert(tenantId)];
        },
        firings: async (tenantId) => new Map([...firings].filter(([k]) => k.startsWith(tenantId)).map(([, f]) => [f.alertId, f])),
        recordFiring: async (tenantId, f) =>
          firings.has(`${tenantId}:${f.alertId}`) ? false : (firings.set(`${tenantId}:${f.alertId}`, f), true),
        markNotified: async (tenantId, f, at) => void firings.set(`${tenantId}:${f.alertId}`, { ...f, notifiedAt: at }),
      },
      monthValue: async () => '1500',
      notify: async (n) => {
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
    expect(sent.map((n) => n.id).sort()).toEqual(['t1:big:2026-11', 't2:big:2026-11']);
  });
});
