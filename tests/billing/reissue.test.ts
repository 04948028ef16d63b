import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InvoicingRun } from '../../functions/invoicing/invoicing.js';
import type { LocalStack } from '../../local/stack.js';
import { api, createAdminKey, createTenant, startTestStack } from '../support/stack.js';

const HOUR = 3_600_000;
// A grace window long enough that the previous month takes late events whatever today's date.
const GRACE_HOURS = 45 * 24;
const monthStart = (add: number) => Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth() + add, 1);
const previous = monthStart(-1);

describe('reissuing an invoice', () => {
  let stack: LocalStack;
  let admin: string;
  let key: string;
  const invoicing = (closing: number) =>
    stack.runSchedule('invoicing', new Date(closing + GRACE_HOURS * HOUR + HOUR)) as Promise<InvoicingRun>;
  const orders = async (ids: string[]) => {
    const events = ids.map((id, i) => ({ id, meter: 'orders', timestamp: new Date(previous + (i + 1) * HOUR).toISOString() }));
    expect(await api(stack, 'POST', '/v1/events', key, events)).toMatchObject({ status: 202, body: { accepted: ids.length } });
    await stack.drained();
  };
  const reissue = (id: string) => api(stack, 'POST', `/v1/admin/tenants/redo/invoices/${id}/reissue`, admin);
  const ordersLine = (invoice: { lines: { kind: string; meter?: string }[] }) =>
    invoice.lines.find((l) => l.kind === 'usage' && l.meter === 'orders');
  let first: { number: string; total: string };

  beforeAll(async () => {
    stack = await startTestStack({ env: { GRACE_PERIOD_HOURS: String(GRACE_HOURS) } });
    stack.stripe?.setWebhook(undefined);
    admin = await createAdminKey(stack);
    key = await createTenant(stack, 'redo');
    expect(
      await api(stack, 'PUT', '/v1/admin/tenants/redo/subscription', admin, {
        planId: 'base-199',
        startAt: new Date(previous).toISOString(),
      }),
    ).toMatchObject({ status: 201 });
    await orders(Array.from({ length: 10 }, (_, i) => `o-${i}`));
    expect(await invoicing(monthStart(0))).toMatchObject({ issued: 1 });
    first = (await api(stack, 'GET', '/v1/invoices', key)).body.invoices[0];
  });
  afterAll(() => stack?.stop());

  it('voids the invoice and issues a replacement for the same period from the current counters, linked both ways', async () => {
    expect(ordersLine((await api(stack, 'GET', `/v1/invoices/${first.number}`, key)).body)).toMatchObject({
      quantity: '10',
      amount: '1.00',
    });
    await orders(['late-1', 'late-2', 'late-3', 'late-4', 'late-5']);

    const replaced = await reissue(first.number);
    expect(replaced).toMatchObject({
      status: 201,
      body: { status: 'open', periodStart: new Date(previous).toISOString(), replaces: { id: first.number } },
    });
    const replacement = replaced.body;
    expect(replacement.number).not.toBe(first.number);
    expect(ordersLine(replacement)).toMatchObject({ quantity: '15', amount: '1.50' });
    expect(replacement.replaces.changes).toEqual({
      lines: [expect.objectContaining({ before: '1.00', after: '1.50', difference: '0.50' })],
      total: { before: first.total, after: replacement.total, difference: '0.50' },
    });
    // Gap-free: the replacement takes the next number of its year.
    const [y1, n1] = first.number.split('-').slice(1).map(Number) as [number, number];
    const [y2, n2] = replacement.number.split('-').slice(1).map(Number) as [number, number];
    expect(n2).toBe(y2 === y1 ? n1 + 1 : 1);

    expect((await api(stack, 'GET', `/v1/invoices/${first.number}`, key)).body).toMatchObject({
      status: 'void',
      replacedBy: replacement.number,
    });
    const list = (await api(stack, 'GET', '/v1/invoices', key)).body.invoices;
    expect(list.map((i: { number: string }) => i.number)).toEqual([replacement.number]);
  });

  it('refuses to reissue twice, a paid invoice, or one that a later invoice already adjusted', async () => {
    expect(await reissue(first.number)).toMatchObject({
      status: 409,
      body: { code: 'CONFLICT', message: expect.stringContaining('already replaced') },
    });
    expect(await reissue('INV-1999-000001')).toMatchObject({ status: 404, body: { field: 'id' } });
    expect(await api(stack, 'POST', `/v1/admin/tenants/redo/invoices/${first.number}/reissue`, key)).toMatchObject({ status: 403 });

    const [current] = (await api(stack, 'GET', '/v1/invoices', key)).body.invoices;
    // The next period closes; its invoice adjusts only what changed since the replacement.
    await orders(['late-6', 'late-7']);
    expect(await invoicing(monthStart(1))).toMatchObject({ issued: 1 });
    const [next] = (await api(stack, 'GET', '/v1/invoices', key)).body.invoices;
    const adjustments = (await api(stack, 'GET', `/v1/invoices/${next.number}`, key)).body.lines.filter(
      (l: { kind: string }) => l.kind === 'adjustment',
    );
    expect(adjustments).toEqual([expect.objectContaining({ meter: 'orders', amount: '0.20' })]);
    expect(await reissue(current.number)).toMatchObject({
      status: 409,
      body: { message: expect.stringContaining('only the latest invoice') },
    });

    expect(await api(stack, 'POST', `/v1/admin/tenants/redo/invoices/${next.number}/status`, admin, { status: 'paid' })).toMatchObject({
      status: 200,
    });
    expect(await reissue(next.number)).toMatchObject({ status: 409, body: { message: expect.stringContaining('paid') } });
  });
});
