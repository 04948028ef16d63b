import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InvoicingRun } from '../../functions/invoicing/invoicing.js';
import type { LocalStack } from '../../local/stack.js';
import { api, createAdminKey, createTenant, startTestStack } from '../support/stack.js';

const HOUR = 3_600_000;
const GRACE = 72 * HOUR;
const monthStart = (t: number, add = 0) => Date.UTC(new Date(t).getUTCFullYear(), new Date(t).getUTCMonth() + add, 1);

/** Starter with a higher base fee and fewer estimates included. */
const candidate = {
  name: 'Starter 2027',
  currency: 'USD',
  interval: 'month',
  baseFee: '349.00',
  prices: {
    estimates: { model: 'quota', included: '40', unitPrice: '5.00' },
    api_calls: { model: 'quota', included: '1000', unitPrice: '0.10' },
    seats: { model: 'quota', included: '3', unitPrice: '10.00' },
  },
};

describe('a fleet simulation as a job on the local stack', () => {
  let stack: LocalStack;
  let admin: string;
  let tenantKey: string;
  const M = monthStart(Date.now());

  beforeAll(async () => {
    stack = await startTestStack();
    admin = await createAdminKey(stack);
    const plans = { 'fleet-a': 'starter', 'fleet-b': 'professional', 'fleet-c': 'enterprise' };
    const estimates = { 'fleet-a': 60, 'fleet-b': 30, 'fleet-c': 0 };
    for (const [tenantId, planId] of Object.entries(plans)) {
      const key = await createTenant(stack, tenantId);
      tenantKey ??= key;
      await api(stack, 'PUT', `/v1/admin/tenants/${tenantId}/subscription`, admin, { planId, startAt: new Date(M).toISOString() });
      const n = estimates[tenantId as keyof typeof estimates];
      if (n > 0) {
        const at = new Date(Math.max(M, Date.now() - 60_000)).toISOString();
        const events = Array.from({ length: n }, (_, i) => ({ id: `${tenantId}-${i}`, meter: 'estimates', timestamp: at }));
        expect(await api(stack, 'POST', '/v1/events', key, events)).toMatchObject({ status: 202 });
      }
    }
    await stack.drained();
    const run = (await stack.runSchedule('invoicing', new Date(monthStart(M, 1) + GRACE + 5 * 60_000))) as InvoicingRun;
    expect(run).toMatchObject({ issued: 3, failedTenants: [] });
  });
  afterAll(() => stack?.stop());

  it('starts with 202, runs in the worker, and its totals and CSV match pricing each tenant one by one', async () => {
    const started = await api(stack, 'POST', '/v1/admin/simulations', admin, { definition: candidate, periods: 1 });
    expect(started).toMatchObject({
      status: 202,
      body: { status: 'queued', periods: 1, candidate: { id: 'candidate', baseFee: '349.00' } },
    });
    const { jobId } = started.body;
    expect(await api(stack, 'GET', `/v1/admin/simulations/${jobId}/csv`, admin)).toMatchObject({ status: 409, body: { field: 'jobId' } });

    await stack.runSchedule('simulation-worker');
    const done = await api(stack, 'GET', `/v1/admin/simulations/${jobId}`, admin);
    // Hand-computed: fleet-a $299 + 10 estimates over 50 × $5 = $349 → $349 + 20 over 40 × $5 = $449; fleet-b $999 and
    // fleet-c $2,999 → $349 each (30 and 0 estimates, within 40).
    expect(done).toMatchObject({
      status: 200,
      body: {
        status: 'succeeded',
        progress: { subscriptions: 3, tenants: 3, skipped: 0 },
        csvParts: 1,
        result: {
          tenants: 3,
          revenue: [{ tenants: 3, issued: '4347.00', simulated: '1147.00', difference: '-3200.00' }],
          distribution: { more: 1, less: 2, same: 0 },
          largestIncreases: [{ tenantId: 'fleet-a', difference: '100.00', percent: '28.7' }],
          largestDecreases: [{ tenantId: 'fleet-c' }, { tenantId: 'fleet-b' }],
        },
      },
    });
    expect(done.body).not.toHaveProperty('owner');

    const one = async (tenantId: string) =>
      (await api(stack, 'POST', '/v1/admin/simulations', admin, { tenantId, definition: candidate, periods: 1 })).body;
    const tenants = await Promise.all(['fleet-a', 'fleet-b', 'fleet-c'].map(one));
    const res = await fetch(`${stack.apiUrl}/v1/admin/simulations/${jobId}/csv`, { headers: { authorization: `Bearer ${admin}` } });
    expect(res.headers.get('content-type')).toContain('text/csv');
    const rows = (await res.text()).trimEnd().split('\r\n');
    expect(rows[0]).toBe('tenant_id,period_start,issued,simulated,difference,percent');
    expect(rows.slice(1).sort()).toEqual(
      tenants
        .flatMap((t) =>
          t.periods.map((p: { periodStart: string; issued: string; simulated: string; difference: string }) =>
            [t.tenantId, p.periodStart, p.issued, p.simulated, p.difference].join(','),
          ),
        )
        .map((row: string, i: number) => `${row},${['28.7', '-65.1', '-88.4'][i]}`),
    );
    expect(await api(stack, 'GET', `/v1/admin/simulations/${jobId}/csv?part=2`, admin)).toMatchObject({
      status: 404,
      body: { field: 'part' },
    });
  });

  it('answers a tenant key 403 on every route, and an unknown job 404', async () => {
    expect(await api(stack, 'POST', '/v1/admin/simulations', tenantKey, { definition: candidate })).toMatchObject({ status: 403 });
    const { jobId } = (await api(stack, 'POST', '/v1/admin/simulations', admin, { planId: 'starter' })).body;
    expect(await api(stack, 'GET', `/v1/admin/simulations/${jobId}`, tenantKey)).toMatchObject({ status: 403 });
    expect(await api(stack, 'GET', `/v1/admin/simulations/${jobId}/csv`, tenantKey)).toMatchObject({ status: 403 });
    expect(await api(stack, 'GET', '/v1/admin/simulations/00000000-0000-4000-8000-000000000000', admin)).toMatchObject({
      status: 404,
      body: { field: 'jobId' },
    });
    expect(await api(stack, 'GET', '/v1/admin/simulations/not-a-job', admin)).toMatchObject({ status: 400, body: { field: 'jobId' } });
  });
});
