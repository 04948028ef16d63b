import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertRun } from '../../functions/alert-evaluator/alert-evaluator.js';
import type { InvoicingRun } from '../../functions/invoicing/invoicing.js';
import type { LocalStack } from '../../local/stack.js';
import type { Invoice } from '../../shared/billing/invoices.js';
import { eventually } from '../support/eventually.js';
import { api, createAdminKey, createTenant, startTestStack } from '../support/stack.js';

const HOUR = 3_600_000;
const monthStart = (add = 0) => Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth() + add, 1);

/**
 * Progressive billing through the local stack: the alert evaluator's schedule issues the invoices a
 * crossing calls for (once, however often it runs), the email worker mails each with its PDF, and the
 * invoice job's final invoice deducts them.
 */
describe('progressive billing on the local stack', () => {
  let stack: LocalStack;
  let key: string;
  let admin: string;
  const payer = 'pay@surge.example';
  const evaluate = () => stack.runSchedule('alert-evaluator', new Date()) as Promise<AlertRun>;
  const mails = async () =>
    stack.mailbox.messages.filter((m) => m.envelopeTo.includes(payer) && m.headers['x-meterline-event-type'] === 'invoice.issued');
  let sent = 0;
  const jobs = async (n: number) => {
    const at = new Date(Math.max(monthStart(), Date.now() - 60_000)).toISOString();
    const events = Array.from({ length: n }, () => ({
      id: `job-${sent++}`,
      meter: 'ai_jobs',
      timestamp: at,
      properties: { job_type: 'x' },
    }));
    expect(await api(stack, 'POST', '/v1/events', key, events)).toMatchObject({ status: 202 });
    await stack.drained();
  };

  beforeAll(async () => {
    stack = await startTestStack();
    key = await createTenant(stack, 'surge');
    admin = await createAdminKey(stack);
  });
  afterAll(() => stack?.stop());

  it('invoices each threshold once as it is crossed, mails it, and deducts both from the final invoice', async () => {
    // $1.00 a job up to 100 in the month, every job at $0.80 beyond; invoice at $50, then every $50.
    const plan = {
      name: 'Surge',
      currency: 'USD',
      interval: 'month',
      baseFee: '0',
      prices: {
        ai_jobs: {
          model: 'volume',
          tiers: [
            { upTo: '100', unitPrice: '1.00' },
            { upTo: null, unitPrice: '0.80' },
          ],
        },
      },
      thresholds: { amount: '50.00', every: '50.00' },
    };
    expect(await api(stack, 'PUT', '/v1/admin/plans/surge', admin, { ...plan, thresholds: { amount: '0.5' } })).toMatchObject({
      status: 400,
      body: { code: 'INVALID_REQUEST', field: 'thresholds.amount' },
    });
    expect(await api(stack, 'PUT', '/v1/admin/plans/surge', admin, plan)).toMatchObject({ status: 200 });
    const subscription = { planId: 'surge', startAt: new Date(monthStart()).toISOString() };
    expect(await api(stack, 'PUT', '/v1/admin/tenants/surge/subscription', admin, subscription)).toMatchObject({ status: 201 });
    // A billing contact, verified by the link in its first mail.
    expect(await api(stack, 'POST', '/v1/email/recipients', key, { address: payer, role: 'billing' })).toMatchObject({ status: 201 });
    const [confirm] = await eventually(
      async () => stack.mailbox.messages.filter((m) => m.envelopeTo.includes(payer)),
      (m) => m.length === 1,
    );
    expect((await fetch(/(http\S+\/verify\?token=[^\s"&]+)/.exec(confirm!.text)![1]!)).status).toBe(200);

    await jobs(60); // $60.00: the $50 threshold
    const runs = await Promise.all([evaluate(), evaluate(), evaluate()]);
    expect(runs.reduce((n, r) => n + r.progressiveInvoices, 0)).toBe(1);
    expect((await evaluate()).progressiveInvoices).toBe(0);
    await jobs(80); // 140 jobs at $0.80 = $112.00: the $100 threshold
    expect((await evaluate()).progressiveInvoices).toBe(1);
    await jobs(10); // 150 jobs at $0.80 = $120.00: no threshold
    expect((await evaluate()).progressiveInvoices).toBe(0);

    const listed: Invoice[] = (await api(stack, 'GET', '/v1/invoices', key)).body.invoices;
    expect(listed.map((i) => i.total)).toEqual(['52.00', '60.00']);
    const [second, first] = listed as [Invoice, Invoice];
    const mailed = await eventually(mails, (m) => m.length >= 2);
    expect(mailed.map((m) => m.subject).sort()).toEqual([
      `Invoice ${first.number} for surge: USD 60.00`,
      `Invoice ${second.number} for surge: USD 52.00`,
    ]);
    expect(mailed[0]!.attachments[0]!.content.subarray(0, 5).toString()).toBe('%PDF-');
    expect((await api(stack, 'GET', `/v1/invoices/${second.id}`, key)).body).toMatchObject({
      progressive: { index: 1, threshold: '100', amountDue: '112.00' },
      lines: [
        { kind: 'base', amount: '0.00' },
        { kind: 'usage', amount: '112.00' },
        { kind: 'progressive', amount: '-60.00' },
      ],
    });

    // An admin moves a progressive invoice along its own status machine; the period's other invoices stay as they are.
    const paid = await api(stack, 'POST', `/v1/admin/tenants/surge/invoices/${first.id}/status`, admin, { status: 'paid' });
    expect(paid).toMatchObject({ status: 200, body: { id: first.id, status: 'paid' } });
    expect((await api(stack, 'GET', `/v1/invoices/${second.id}`, key)).body.status).toBe('open');

    const page = await fetch(`${stack.apiUrl}/v1/invoices/${second.id}/html`, { headers: { authorization: `Bearer ${key}` } });
    expect(await page.text()).toContain('progressive invoice: $100.00 reached');

    const run = (await stack.runSchedule('invoicing', new Date(monthStart(1) + 73 * HOUR))) as InvoicingRun;
    expect(run).toMatchObject({ issued: 1, failedTenants: [] });
    const final: Invoice = (await api(stack, 'GET', '/v1/invoices', key)).body.invoices[0];
    expect(final.total).toBe('8.00'); // $120.00 − $60.00 − $52.00
    const lines = (await api(stack, 'GET', `/v1/invoices/${final.id}`, key)).body.lines;
    expect(lines.map((l: { description: string; amount: string }) => `${l.description.split(' (')[0]} ${l.amount}`)).toEqual([
      'Surge base fee 0.00',
      'AI jobs 120.00',
      `Already invoiced: ${first.number} -60.00`,
      `Already invoiced: ${second.number} -52.00`,
    ]);
    // One gap-free sequence per year of issue, the progressive invoices' and the final one's.
    const year = new Date().getUTCFullYear();
    const finalYear = new Date(monthStart(1) + 73 * HOUR).getUTCFullYear();
    expect([first.number, second.number, final.number]).toEqual([
      `INV-${year}-000001`,
      `INV-${year}-000002`,
      `INV-${finalYear}-00000${finalYear === year ? 3 : 1}`,
    ]);
  });
});
