import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InvoicingRun } from '../../functions/invoicing/invoicing.js';
import type { LocalStack } from '../../local/stack.js';
import { DynamoBillingStore } from '../../shared/billing/adapters/billing-store.js';
import type { Invoice } from '../../shared/billing/invoices.js';
import { newSubscription } from '../../shared/billing/subscriptions.js';
import { documentClient } from '../../shared/platform/dynamo/client.js';
import { api, createAdminKey, createTenant, startTestStack } from '../support/stack.js';

const HOUR = 3_600_000;
const GRACE = 72 * HOUR;
const monthStart = (t: number, add = 0) => Date.UTC(new Date(t).getUTCFullYear(), new Date(t).getUTCMonth() + add, 1);
const cents = (dollars: string) => BigInt(dollars.replace('.', ''));

describe('invoices end to end on the local stack', () => {
  let stack: LocalStack;
  let key: string;
  let admin: string;
  const now = Date.now();
  const M = monthStart(now);
  const runAt = (t: number) => stack.runSchedule('invoicing', new Date(t)) as Promise<InvoicingRun>;

  beforeAll(async () => {
    stack = await startTestStack();
    key = await createTenant(stack, 'optical-labs');
    admin = await createAdminKey(stack);
  });
  afterAll(() => stack?.stop());

  const post = async (events: object[]) => {
    for (let i = 0; i < events.length; i += 1000) {
      const r = await api(stack, 'POST', '/v1/events', key, events.slice(i, i + 1000));
      expect(r.status).toBe(202);
    }
    await stack.drained();
  };
  const at = (i: number) => new Date(M + ((now - M) * i) / 4000).toISOString();

  it("bills seed 1's rates for events posted through ingest, matching an independent calculation", async () => {
    expect(
      await api(stack, 'PUT', '/v1/admin/tenants/optical-labs/subscription', admin, {
        planId: 'base-199',
        startAt: new Date(M).toISOString(),
      }),
    ).toMatchObject({ status: 201 });
    const storageChange = Math.max(M, now - 1000);
    await post([
      ...Array.from({ length: 12 }, (_, i) => ({ id: `o-${i}`, meter: 'orders', timestamp: at(i) })),
      ...Array.from({ length: 9 }, (_, i) => ({ id: `inv-${i}`, meter: 'invoices', timestamp: at(i) })),
      ...Array.from({ length: 3 }, (_, i) => ({ id: `ai-${i}`, meter: 'ai_jobs', timestamp: at(i), properties: { job_type: 'forecast' } })),
      ...Array.from({ length: 2500 }, (_, i) => ({ id: `call-${i}`, meter: 'api_calls', timestamp: at(i) })),
      { id: 'gb-1', meter: 'storage_gb', timestamp: new Date(M).toISOString(), value: '45' },
      { id: 'gb-2', meter: 'storage_gb', timestamp: new Date(storageChange).toISOString(), value: '60.5' },
    ]);

    const upcoming = await api(stack, 'GET', '/v1/invoices/upcoming', key);
    expect(upcoming).toMatchObject({ status: 200, body: { status: 'draft', periodStart: new Date(M).toISOString() } });

    const end = monthStart(now, 1);
    expect(await runAt(end + GRACE - 60_000)).toMatchObject({ issued: 0 }); // still inside the grace window
    const run = await runAt(end + GRACE + 5 * 60_000);
    expect(run).toMatchObject({ issued: 1, failedTenants: [] });

    // Independent calculation: integers of cents and of GB-hours, no shared code.
    const hours = (end - M) / HOUR;
    const hoursAt45 = Math.floor((storageChange - M) / HOUR); // the hour of the second reading already holds 60.5
    // GB-months in millionths, half-up: (45 GB × hours at 45 + 60.5 GB × the rest) / hours of the month.
    const tenthGbHours = 450n * BigInt(hoursAt45) + 605n * BigInt(hours - hoursAt45);
    const halfUp = (n: bigint, d: bigint) => (2n * n + d) / (2n * d);
    const micro = halfUp(tenthGbHours * 100_000n, BigInt(hours));
    const storageCents = halfUp(micro, 10_000n); // × $1.00 per GB-month
    const gbMonths = `${micro / 1_000_000n}.${String(micro % 1_000_000n).padStart(6, '0')}`.replace(/\.?0+$/, '');
    const expected: Record<string, bigint> = {
      base: 19900n,
      orders: 120n,
      invoices: 45n,
      ai_jobs: 150n,
      api_calls: 3n /* 2,500 × $0.00001 = $0.025 → $0.03 */,
      storage_gb: storageCents,
    };

    const list = await api(stack, 'GET', '/v1/invoices', key);
    expect(list.body.invoices).toHaveLength(1);
    const id = list.body.invoices[0].id;
    expect(id).toBe(`INV-${new Date(end + GRACE).getUTCFullYear()}-000001`);
    const invoice: Invoice = (await api(stack, 'GET', `/v1/invoices/${id}`, key)).body;
    expect(Object.fromEntries(invoice.lines.map((l) => [l.meter ?? 'base', cents(l.amount)]))).toEqual(expected);
    expect(invoice.lines.find((l) => l.meter === 'storage_gb')!.quantity).toBe(gbMonths);
    const sum = Object.values(expected).reduce((a, b) => a + b, 0n);
    expect(invoice).toMatchObject({
      status: 'open',
      subtotal: (Number(sum) / 100).toFixed(2),
      tax: '0.00',
      total: (Number(sum) / 100).toFixed(2),
    });

    const html = await fetch(`${stack.apiUrl}/v1/invoices/${id}/html`, { headers: { authorization: `Bearer ${key}` } });
    expect(html.headers.get('content-type')).toMatch(/^text\/html/);
    const page = await html.text();
    expect(page).toContain(id);
    expect(page).toContain(`$${(Number(sum) / 100).toFixed(2)}`);
    expect(page).toContain('@media print');
  });

  it('never issues a second invoice, whether run again or concurrently', async () => {
    const later = monthStart(now, 1) + GRACE + 10 * 60_000;
    const runs = await Promise.all([runAt(later), runAt(later), runAt(later), runAt(later + HOUR)]);
    expect(runs.reduce((n, r) => n + r.issued, 0)).toBe(0);
    expect((await api(stack, 'GET', '/v1/invoices', key)).body.invoices).toHaveLength(1);
  });

  it("ends the tenant's first import once it has an invoice, and only that tenant's", async () => {
    const old = [{ id: 'history-1', meter: 'orders', timestamp: new Date(monthStart(now, -6)).toISOString() }];
    const firstImport = (tenantId: string) => api(stack, 'POST', `/v1/admin/tenants/${tenantId}/events?firstImport=true`, admin, old);
    expect(await firstImport('optical-labs')).toMatchObject({ status: 409, body: { code: 'CONFLICT', field: 'firstImport' } });
    await createTenant(stack, 'fresh-labs');
    expect(await firstImport('fresh-labs')).toMatchObject({ status: 202, body: { accepted: 1 } });
  });

  it('bills late events on the next invoice as a labelled adjustment', async () => {
    await post(Array.from({ length: 5 }, (_, i) => ({ id: `late-${i}`, meter: 'orders', timestamp: new Date(now - 1000).toISOString() })));
    const run = await runAt(monthStart(now, 2) + GRACE + 5 * 60_000);
    expect(run).toMatchObject({ issued: 1, adjustmentLines: 1 });
    const [second] = (await api(stack, 'GET', '/v1/invoices?limit=1', key)).body.invoices;
    const invoice: Invoice = (await api(stack, 'GET', `/v1/invoices/${second.id}`, key)).body;
    const adjustment = invoice.lines.find((l) => l.kind === 'adjustment')!;
    expect(adjustment).toMatchObject({ meter: 'orders', quantity: '5', amount: '0.50', from: new Date(M).toISOString() });
    expect(adjustment.description).toMatch(/^Adjustment: late usage of Orders/);
    expect(invoice.lines.find((l) => l.meter === 'storage_gb')).toMatchObject({ quantity: '60.5', amount: '60.50' }); // carried forward all month
    expect(invoice.lines.find((l) => l.meter === 'orders')).toMatchObject({ quantity: '0', amount: '0.00' });
  });

  it('moves invoices through their status machine and serves pricing and analytics', async () => {
    const [inv] = (await api(stack, 'GET', '/v1/invoices', key)).body.invoices;
    const path = `/v1/admin/tenants/optical-labs/invoices/${inv.id}/status`;
    expect(await api(stack, 'POST', path, admin, { status: 'paid' })).toMatchObject({ status: 200, body: { status: 'paid' } });
    expect(await api(stack, 'POST', path, admin, { status: 'void' })).toMatchObject({
      status: 409,
      body: { code: 'CONFLICT', field: 'status' },
    });
    // Every issued invoice and the status change are announced on the event bus, once each.
    const details = stack.eventBus.events.map((e) => e.detail as { id: string; type: string; data: Record<string, unknown> });
    const issued = details.filter((d) => d.type === 'invoice.issued' && d.data.invoiceId === inv.id);
    expect(issued).toHaveLength(1);
    expect(details.filter((d) => d.type === 'invoice.status_changed')).toMatchObject([
      { id: `invoice.status_changed:optical-labs:${inv.id}:paid`, data: { invoiceId: inv.id, from: 'open', to: 'paid', source: 'admin' } },
    ]);
    expect(await api(stack, 'GET', '/v1/pricing', key)).toMatchObject({
      status: 200,
      body: { plan: { id: 'base-199', baseFee: '199.00' } },
    });
    const analytics = await api(stack, 'GET', '/v1/analytics', key);
    expect(analytics.status).toBe(200);
    expect(analytics.body.meters.find((m: { meter: string }) => m.meter === 'orders')).toMatchObject({ quantity: '17' });
    expect(await api(stack, 'GET', '/v1/invoices/INV-1999-000001', key)).toMatchObject({ status: 404 });
    expect(await api(stack, 'GET', '/v1/admin/plans/base-199', key)).toMatchObject({ status: 403 });
  });
});

describe('invoice job idempotency', () => {
  let stack: LocalStack;
  let store: DynamoBillingStore;
  beforeAll(async () => {
    stack = await startTestStack();
    store = new DynamoBillingStore(documentClient(stack.dynamo), stack.env.BILLING_TABLE!);
  });
  afterAll(() => stack?.stop());

  it('re-runs and concurrent runs give every period exactly one invoice and every year gap-free numbers', async () => {
    const tenants: string[] = [];
    let round = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({ day: fc.integer({ min: 1, max: 31 }), trialDays: fc.option(fc.integer({ min: 1, max: 40 }), { nil: undefined }) }),
          { minLength: 1, maxLength: 6 },
        ),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 3 }),
        async (subs, concurrent, extraMonths) => {
          // Each run a year before the last: the earlier runs' subscriptions start after this run's time, so a run
          // invoices its own tenants rather than catching every earlier one up by a year (hundreds of invoices by the
          // sixth run, which the property does not ask for).
          const year = 2045 - round++;
          for (const [i, s] of subs.entries()) {
            const tenantId = `t-${year}-${i}`;
            tenants.push(tenantId);
            const startAt = Date.UTC(year, 0, s.day);
            expect(
              await store.putSubscription(
                newSubscription({
                  tenantId,
                  planId: 'starter',
                  interval: 'month',
                  currency: 'USD',
                  startAt,
                  now: startAt,
                  ...(s.trialDays ? { trialDays: s.trialDays } : {}),
                }),
              ),
            ).toBe(true);
          }
          const time = new Date(Date.UTC(year, 2 + extraMonths, 10));
          await Promise.all(Array.from({ length: concurrent }, () => stack.runSchedule('invoicing', time)));
          await stack.runSchedule('invoicing', time);

          const all: Invoice[] = [];
          for (const tenantId of tenants) {
            const invoices = (await store.listInvoices(tenantId, 100)).invoices.reverse();
            invoices.forEach((inv, i) => {
              if (i > 0) expect(inv.periodStart).toBe(invoices[i - 1]!.periodEnd); // contiguous, no period twice
            });
            all.push(...invoices);
          }
          const byYear = new Map<string, number[]>();
          for (const inv of all) {
            const [, y, n] = inv.number.split('-');
            byYear.set(y!, [...(byYear.get(y!) ?? []), Number(n)]);
          }
          for (const numbers of byYear.values()) expect(numbers.sort((a, b) => a - b)).toEqual(numbers.map((_, i) => i + 1));
        },
      ),
      { numRuns: 6 },
    );
  });
});
