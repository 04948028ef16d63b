import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InvoicingRun } from '../../functions/invoicing/invoicing.js';
import type { LocalStack } from '../../local/stack.js';
import { DynamoBillingStore } from '../../shared/billing/adapters/billing-store.js';
import type { Invoice } from '../../shared/billing/invoices.js';
import { documentClient } from '../../shared/platform/dynamo/client.js';
import { api, createAdminKey, createTenant, startTestStack } from '../support/stack.js';

const HOUR = 3_600_000;
const GRACE = 72 * HOUR;
const monthStart = (add: number) => Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth() + add, 1);
const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());

describe('pausing billing', () => {
  let stack: LocalStack;
  let admin: string;
  let billing: DynamoBillingStore;
  const keys = new Map<string, string>();
  const invoicing = (at: number) => stack.runSchedule('invoicing', new Date(at)) as Promise<InvoicingRun>;
  const report = () => stack.runReport(new Date(today + HOUR));
  const invoices = async (tenantId: string) => (await billing.listInvoices(tenantId)).invoices;
  const sentFor = (tenantId: string) => stack.stripe!.meterEvents().filter((e) => e.identifier.startsWith(`${tenantId}:`)).length;

  beforeAll(async () => {
    stack = await startTestStack();
    stack.stripe!.setWebhook(undefined);
    billing = new DynamoBillingStore(documentClient(stack.dynamo), stack.env.BILLING_TABLE!);
    admin = await createAdminKey(stack);
    for (const tenantId of ['held', 'running']) {
      const key = await createTenant(stack, tenantId);
      keys.set(tenantId, key);
      const startAt = new Date(monthStart(-1)).toISOString();
      expect(await api(stack, 'PUT', `/v1/admin/tenants/${tenantId}/subscription`, admin, { planId: 'base-199', startAt })).toMatchObject({
        status: 201,
      });
      const at = new Date(today - 12 * HOUR).toISOString();
      expect(await api(stack, 'POST', '/v1/events', key, [{ id: 'o-1', meter: 'orders', timestamp: at }])).toMatchObject({ status: 202 });
    }
    await stack.drained();
  });
  afterAll(() => stack?.stop());

  it('pauses one tenant: metering goes on, no invoice and no Stripe report for it', async () => {
    expect(await api(stack, 'PUT', '/v1/admin/tenants/held/billing/pause', admin, { reason: 'disputed usage' })).toMatchObject({
      status: 201,
      body: { scope: 'held', reason: 'disputed usage' },
    });
    expect(await api(stack, 'PUT', '/v1/admin/tenants/held/billing/pause', admin, { reason: 'again' })).toMatchObject({
      status: 409,
      body: { code: 'CONFLICT' },
    });
    expect(await api(stack, 'PUT', '/v1/admin/tenants/ghost/billing/pause', admin, { reason: 'x' })).toMatchObject({
      status: 404,
      body: { field: 'tenantId' },
    });
    expect(await api(stack, 'PUT', '/v1/admin/billing/pause', admin, {})).toMatchObject({ status: 400, body: { field: 'reason' } });
    expect(await api(stack, 'PUT', '/v1/admin/billing/pause', keys.get('held'), { reason: 'x' })).toMatchObject({ status: 403 });

    expect(await invoicing(monthStart(0) + GRACE + HOUR)).toMatchObject({ issued: 1, paused: 1, failedTenants: [] });
    expect(await invoices('held')).toEqual([]);
    expect(await invoices('running')).toHaveLength(1);
    expect(await report()).toMatchObject({ paused: 1, failed: 0 });
    expect(sentFor('held')).toBe(0);
    expect(sentFor('running')).toBeGreaterThan(0);

    // Metering goes on while billing is paused.
    expect(
      await api(stack, 'POST', '/v1/events', keys.get('held'), [{ id: 'o-2', meter: 'orders', timestamp: new Date().toISOString() }]),
    ).toMatchObject({ status: 202, body: { accepted: 1 } });
    await stack.drained();
    expect((await api(stack, 'GET', '/v1/usage/current', keys.get('held'))).body).toMatchObject({
      meters: expect.arrayContaining([expect.objectContaining({ meter: 'orders' })]),
    });
  });

  it('pauses every tenant at once', async () => {
    expect(await api(stack, 'PUT', '/v1/admin/billing/pause', admin, { reason: 'pricing rollback' })).toMatchObject({
      status: 201,
      body: { scope: '*' },
    });
    expect((await api(stack, 'GET', '/v1/admin/billing/pauses', admin)).body.pauses.map((p: { scope: string }) => p.scope).sort()).toEqual([
      '*',
      'held',
    ]);
    const before = stack.stripe!.meterEvents().length;
    expect(await invoicing(monthStart(1) + GRACE + HOUR)).toMatchObject({ issued: 0, paused: 2 });
    expect(await report()).toMatchObject({ paused: 2, sent: 0 });
    expect(stack.stripe!.meterEvents()).toHaveLength(before);
  });

  it('resumes: the next runs catch up on what was skipped, exactly once, numbers without gaps', async () => {
    expect(await api(stack, 'DELETE', '/v1/admin/billing/pause', admin)).toMatchObject({
      status: 200,
      body: { scope: '*', resumedAt: expect.any(String) },
    });
    expect(await api(stack, 'DELETE', '/v1/admin/billing/pause', admin)).toMatchObject({ status: 404 });
    expect(await api(stack, 'DELETE', '/v1/admin/tenants/held/billing/pause', admin)).toMatchObject({ status: 200 });

    const time = monthStart(1) + GRACE + HOUR;
    // held: the previous and the current month; running: the current month.
    expect(await invoicing(time)).toMatchObject({ issued: 3, paused: 0, failedTenants: [] });
    expect(await invoicing(time)).toMatchObject({ issued: 0, alreadyClosed: 0 });
    const all: Invoice[] = [...(await invoices('held')), ...(await invoices('running'))];
    expect((await invoices('held')).map((i) => i.periodStart).sort()).toEqual([
      new Date(monthStart(-1)).toISOString(),
      new Date(monthStart(0)).toISOString(),
    ]);
    for (const year of new Set(all.map((i) => i.number.slice(4, 8)))) {
      const sequence = all
        .filter((i) => i.number.slice(4, 8) === year)
        .map((i) => Number(i.number.slice(9)))
        .sort((a, b) => a - b);
      expect(sequence).toEqual(sequence.map((_, i) => i + 1));
    }

    expect((await report()).sent).toBeGreaterThan(0);
    const afterCatchUp = sentFor('held');
    expect(afterCatchUp).toBeGreaterThan(0);
    expect(await report()).toMatchObject({ sent: 0, failed: 0 });
    expect(sentFor('held')).toBe(afterCatchUp);
  });
});
