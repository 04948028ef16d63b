/// <reference lib="dom" />
import { readFileSync } from 'node:fs';
import type { BrowserContext, Page, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { Dec } from '../../shared/kernel/decimal.js';
import { api, createAdminKey, createTenant, eventually, startTestStack } from '../support/stack.js';
import { launchChromium } from './browser.js';
import { writeHistory } from './history.js';

/**
 * The dashboard in real headless Chromium against a local stack: usage posted through the ingest API,
 * sign-in by session link, the numbers on screen equal to the API's, quota colours, alerts, invoices
 * and their PDF, the Stripe customer portal, the operator console, and one tenant's session kept out
 * of another's data.
 */
let stack: LocalStack;
let chrome: Awaited<ReturnType<typeof launchChromium>>;
let context: BrowserContext;
let adminKey: string;
const keys: Record<'a' | 'b', string> = { a: '', b: '' };
const monthStart = () => {
  const d = new Date();
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
};
const lastMonthStart = () => {
  const d = new Date();
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 1, 1);
};
/** Inside the open period, an hour ago at most (never before this month's start). */
const recently = (i: number) => new Date(Math.max(monthStart(), Date.now() - 3_600_000) + i * 1_000).toISOString();

const plan = {
  name: 'Dashboard test',
  currency: 'USD',
  interval: 'month',
  baseFee: '49.00',
  prices: {
    orders: { model: 'perUnit', unitPrice: '0.10' },
    api_calls: { model: 'quota', included: '100', unitPrice: '0.02' },
    ai_jobs: { model: 'perUnit', unitPrice: '0.50' },
    storage_gb: { model: 'perUnit', unitPrice: '1.00' },
  },
};

/**
 * A projection at the current run rate falls as the period goes on without usage (fast in a month's first hours), so
 * what the page drew lies between the API's answers after and before it drew.
 */
function expectBetween(shown: string | null, after: string, before: string) {
  expect(shown).not.toBeNull();
  expect(new Dec(shown!).lessThanOrEqualTo(before) && new Dec(shown!).greaterThanOrEqualTo(after), `${after} ≤ ${shown} ≤ ${before}`).toBe(
    true,
  );
}

async function post(tenant: 'a' | 'b', events: object[]) {
  const r = await api(stack, 'POST', '/v1/events', keys[tenant], events);
  expect(r.status).toBe(202);
  expect(r.body.rejected).toBe(0);
  await stack.drained();
}

async function signIn(key: string, body: object = {}): Promise<{ page: Page; token: string; sessionId: string }> {
  const r = await api(stack, 'POST', '/v1/dashboard/sessions', key, body);
  expect(r.status).toBe(201);
  expect(r.body.url).toMatch(/#session=mds_/);
  const page = await context.newPage();
  await page.goto(r.body.url);
  // Signed in once the app took the token from the link (before that, moving to another page would lose it).
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  return { page, token: r.body.token, sessionId: r.body.sessionId };
}

beforeAll(async () => {
  stack = await startTestStack({ env: { GRACE_PERIOD_HOURS: '1' } });
  adminKey = await createAdminKey(stack);
  keys.a = await createTenant(stack, 'tenant-a');
  keys.b = await createTenant(stack, 'tenant-b');
  expect((await api(stack, 'PUT', '/v1/admin/plans/dash-test', adminKey, plan)).status).toBeLessThan(300);
  for (const t of ['tenant-a', 'tenant-b']) {
    const r = await api(stack, 'PUT', `/v1/admin/tenants/${t}/subscription`, adminKey, {
      planId: 'dash-test',
      startAt: new Date(lastMonthStart()).toISOString(),
    });
    expect(r.status).toBe(201);
  }
  // Last month closes into an invoice for each tenant (base fee; no usage), once its hour of grace is over.
  await stack.runSchedule('invoicing', new Date(Math.max(Date.now(), monthStart() + 2 * 3_600_000)));
  await post('a', [
    ...Array.from({ length: 12 }, (_, i) => ({ id: `o-${i}`, meter: 'orders', timestamp: recently(i) })),
    ...Array.from({ length: 70 }, (_, i) => ({ id: `c-${i}`, meter: 'api_calls', timestamp: recently(i) })),
    ...['summary', 'summary', 'extraction'].map((jobType, i) => ({
      id: `j-${i}`,
      meter: 'ai_jobs',
      timestamp: recently(i),
      properties: { job_type: jobType },
    })),
    { id: 's-1', meter: 'storage_gb', timestamp: recently(1), value: '45.5' },
  ]);
  await post('b', [{ id: 'b-o-1', meter: 'orders', timestamp: recently(1) }]);
  chrome = await launchChromium();
  context = chrome.context;
}, 300_000);

afterAll(async () => {
  await chrome?.close();
  await stack?.stop();
});

describe('tenant dashboard', () => {
  it("shows each meter's quantity and cost exactly as the API answers them", async () => {
    const projectedBefore = (await api(stack, 'GET', '/v1/analytics', keys.a)).body.projectedCost;
    const { page } = await signIn(keys.a);
    const analytics = (await api(stack, 'GET', '/v1/analytics', keys.a)).body;
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    for (const m of analytics.meters as { meter: string; quantity: string; cost: string }[]) {
      const card = page.locator(`article[data-meter="${m.meter}"]`);
      await expect.poll(() => card.getByTestId('quantity').getAttribute('data-value')).toBe(m.quantity);
      expect(await card.getByTestId('cost').getAttribute('data-value')).toBe(m.cost);
    }
    expect(await page.locator('article[data-meter="orders"] [data-testid=quantity]').textContent()).toBe('12 orders');
    expect(await page.locator('article[data-meter="orders"] [data-testid=cost]').textContent()).toBe('$1.20 so far');
    // A gauge shows what is stored now and what is billed so far, each rounded as a person reads it.
    const storage = page.locator('article[data-meter="storage_gb"]');
    const level = (await api(stack, 'GET', '/v1/usage/current', keys.a)).body.meters.find(
      (m: { meter: string }) => m.meter === 'storage_gb',
    );
    expect(await storage.getByTestId('level').getAttribute('data-value')).toBe(level.value);
    expect(await storage.getByTestId('level').textContent()).toBe('45.5 GB now');
    expect(await storage.getByTestId('quantity').textContent()).toMatch(/^(\d+(\.\d{1,2})?|0\.0*\d{1,3}) GB-months billed so far$/);
    expect(await page.getByTestId('projected').textContent()).toMatch(/^\$[\d,]+\.\d\d$/);
    const projectedShown = await page.getByTestId('projected').getAttribute('data-value');
    expectBetween(projectedShown, (await api(stack, 'GET', '/v1/analytics', keys.a)).body.projectedCost, projectedBefore);
    await page.close();
  });

  it('turns the included-quota bar yellow once usage crosses 80%', async () => {
    const { page } = await signIn(keys.a);
    const bar = page.locator('article[data-meter="api_calls"] .quota');
    await expect.poll(() => bar.getAttribute('data-level')).toBe('green');
    await post(
      'a',
      Array.from({ length: 15 }, (_, i) => ({ id: `c2-${i}`, meter: 'api_calls', timestamp: recently(i) })),
    );
    await page.reload();
    await expect.poll(() => bar.getAttribute('data-level')).toBe('yellow');
    expect(await bar.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('85');
    await page.close();
  });

  it('draws the usage charts, with the breakdown of a grouped meter', async () => {
    const { page } = await signIn(keys.a);
    await page.goto(`${stack.apiUrl}/#/usage`);
    const jobs = page.locator('article[data-meter="ai_jobs"]');
    await jobs.locator('canvas').first().waitFor();
    await expect.poll(() => jobs.locator('table.groups tbody tr').count()).toBe(2);
    expect(await jobs.locator('table.groups').textContent()).toContain('summary2 jobs');
    await page.getByLabel('7 days').check();
    await page.getByLabel('hour').check();
    await jobs.locator('canvas').first().waitFor();
    await page.close();
  });

  it("labels the chart's days by the tenant's time zone and says which zone", async () => {
    // A zone whose date differs from UTC's right now, so a label in UTC would show another day.
    const timeZone = new Date().getUTCHours() < 11 ? 'Pacific/Pago_Pago' : 'Pacific/Kiritimati';
    const key = await createTenant(stack, 'tenant-zone');
    const sub = await api(stack, 'PUT', '/v1/admin/tenants/tenant-zone/subscription', adminKey, {
      planId: 'dash-test',
      startAt: new Date().toISOString(),
      timeZone,
    });
    expect(sub.status).toBe(201);
    const localDay = (ms: number) =>
      new Date(ms).toLocaleDateString('en-US', { timeZone, year: 'numeric', month: 'short', day: 'numeric' });
    expect(localDay(Date.now())).not.toBe(
      new Date().toLocaleDateString('en-US', { timeZone: 'UTC', year: 'numeric', month: 'short', day: 'numeric' }),
    );

    const { page } = await signIn(key);
    await page.goto(`${stack.apiUrl}/#/usage`);
    const orders = page.locator('article[data-meter="orders"]');
    await orders.locator('canvas').first().waitFor();
    expect(await orders.locator('p.zone').textContent()).toBe(`Days as in ${timeZone}`);
    // The legend names the bucket under the cursor: the first of the last 30 local days, and today there.
    const legendDay = async (x: 'first' | 'last') => {
      const over = orders.locator('.u-over').first();
      const box = (await over.boundingBox())!;
      await over.hover({ position: { x: x === 'first' ? 1 : box.width - 1, y: box.height / 2 } });
      return orders.locator('.u-legend tr.u-series').first().locator('td.u-value').textContent();
    };
    expect(await legendDay('first')).toBe(localDay(Date.now() - 29 * 86_400_000));
    expect(await legendDay('last')).toBe(localDay(Date.now()));
    await page.close();
  });

  it('creates, edits and deletes an alert', async () => {
    const { page } = await signIn(keys.a);
    await page.goto(`${stack.apiUrl}/#/alerts`);
    const form = page.getByRole('form', { name: 'New alert' });
    await form.getByLabel('Name').fill('Many orders');
    await form.getByLabel('Meter').selectOption('orders');
    await form.getByLabel('Threshold this period').fill('500');
    await form.getByRole('button', { name: 'Create alert' }).click();
    await page.locator('li[data-alert]', { hasText: 'Many orders' }).waitFor();
    // Beside the rules every new subscription gets (80% and 100% of each included quantity).
    const mine = async () =>
      ((await api(stack, 'GET', '/v1/alerts', keys.a)).body.alerts as { name?: string }[]).filter((a) => a.name === 'Many orders');
    const stored = await mine();
    expect(stored).toMatchObject([{ kind: 'quantity', meter: 'orders', threshold: '500', name: 'Many orders' }]);
    const item = page.locator(`li[data-alert="${(stored[0] as { id: string }).id}"]`);

    await item.getByRole('button', { name: 'Edit' }).click();
    await item.getByLabel('Threshold this period').fill('750');
    await item.getByRole('button', { name: 'Save' }).click();
    await page.locator('li[data-alert]', { hasText: '750 orders' }).waitFor();

    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Delete Many orders' }).click();
    await page.locator('li[data-alert]', { hasText: 'Many orders' }).waitFor({ state: 'detached' });
    expect(await mine()).toEqual([]);
    await page.close();
  });

  it('shows a credit balance rule made through the API and edits its amount', async () => {
    const put = await api(stack, 'PUT', '/v1/alerts/low-credit', keys.a, { kind: 'balance', below: '100.00', name: 'Low credit' });
    expect(put.status).toBeLessThan(300);
    const { page } = await signIn(keys.a);
    await page.goto(`${stack.apiUrl}/#/alerts`);
    const item = page.locator('li[data-alert="low-credit"]');
    expect(await item.locator('p').first().textContent()).toBe('Prepaid credit falls to $100.00 or less');
    // Exactly: "Delete Low credit" holds "edit" too.
    await item.getByRole('button', { name: 'Edit', exact: true }).click();
    expect(await item.getByLabel('Credit left').inputValue()).toBe('100.00');
    await item.getByLabel('Credit left').fill('20');
    await item.getByRole('button', { name: 'Save' }).click();
    await item.getByText('Prepaid credit falls to $20.00 or less').waitFor();
    expect((await api(stack, 'GET', '/v1/alerts/low-credit', keys.a)).body).toMatchObject({
      kind: 'balance',
      below: '20',
      name: 'Low credit',
    });
    expect((await api(stack, 'DELETE', '/v1/alerts/low-credit', keys.a)).status).toBe(204);
    await page.close();
  });

  it('creates an anomaly alert and shows its episode with the expected range against the actual; the console lists a silent tenant', async () => {
    // A tenant of its own, with five weeks of history: 10 orders in the same hour each week, one a day besides, then 100 in that hour.
    const keyC = await createTenant(stack, 'tenant-c');
    const HOUR = 3_600_000;
    const spikeHour = Math.floor(Date.now() / HOUR) * HOUR - 2 * HOUR;
    const at = (t: number, n: number, tag: string) =>
      Array.from({ length: n }, (_, i) => ({ id: `${tag}-${t}-${i}`, meter: 'orders', timestamp: new Date(t + i * 1000).toISOString() }));
    await writeHistory(stack, 'tenant-c', [
      ...Array.from({ length: 5 }, (_, w) => at(spikeHour - (w + 1) * 7 * 24 * HOUR, 10, 'week')).flat(),
      ...Array.from({ length: 36 }, (_, d) => at(spikeHour - (d + 1) * 24 * HOUR + 30 * 60_000, 1, 'day')).flat(),
      ...at(spikeHour, 100, 'spike'),
    ]);
    const { page } = await signIn(keyC);
    await page.goto(`${stack.apiUrl}/#/alerts`);
    const form = page.getByRole('form', { name: 'New alert' });
    await form.getByLabel('Name').fill('Odd orders');
    await form.getByLabel('When').selectOption('anomaly');
    await form.getByLabel('Meter').selectOption('orders');
    await form.getByLabel('Sensitivity').selectOption('high');
    await form.getByRole('button', { name: 'Create alert' }).click();
    await page.locator('li[data-alert]', { hasText: 'Odd orders' }).waitFor();
    expect((await api(stack, 'GET', '/v1/alerts', keyC)).body.alerts).toMatchObject([
      { kind: 'anomaly', meter: 'orders', sensitivity: 'high' },
    ]);
    expect((await api(stack, 'PUT', '/v1/alerts/stopped', keyC, { kind: 'silence', afterMinutes: 15 })).status).toBe(201);

    const due = spikeHour + HOUR + 6 * 60_000;
    await stack.runSchedule('alert-evaluator', new Date(due));
    await stack.runSchedule('alert-evaluator', new Date(due + 16 * 60_000));
    await page.reload();
    const episode = page.locator(`li[data-episode="${new Date(spikeHour).toISOString()}"]`);
    await episode.waitFor();
    expect(await episode.textContent()).toContain('spike in the hour');
    expect(await episode.textContent()).toContain('100 orders');
    expect(await episode.getByRole('img').getAttribute('aria-label')).toMatch(/100 orders \(expected [\d.]+–[\d.]+\)/);
    expect(await page.locator('li[data-alert="stopped"]').textContent()).toContain('silent since');
    await page.close();

    const operator = await signIn(adminKey);
    await operator.page.getByRole('heading', { name: 'Operator console' }).waitFor();
    expect(await operator.page.locator('li[data-silent="tenant-c"]').textContent()).toContain('has reported nothing since');
    await operator.page.close();
  });

  it('opens an invoice and downloads its PDF', async () => {
    const [invoice] = (await api(stack, 'GET', '/v1/invoices', keys.a)).body.invoices;
    expect(invoice).toBeDefined();
    const { page } = await signIn(keys.a);
    await page.goto(`${stack.apiUrl}/#/invoices`);
    await page.getByRole('link', { name: invoice.number }).click();
    await page.getByRole('heading', { name: `Invoice ${invoice.number}` }).waitFor();
    expect(await page.getByTestId('invoice-total').textContent()).toBe(`$${invoice.total}`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download PDF' }).click()]);
    expect(download.suggestedFilename()).toBe(`${invoice.number}.pdf`);
    const pdf = readFileSync((await download.path())!);
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    expect(pdf.length).toBeGreaterThan(1_000);
    const [printable] = await Promise.all([context.waitForEvent('page'), page.getByRole('button', { name: 'Printable page' }).click()]);
    await printable.waitForLoadState();
    expect(await printable.textContent('body')).toContain('Due');
    await printable.close();
    await page.close();
  });

  it('shows on the Plan page what the plan includes, what is used, and the prepaid credit balance, as the API answers them', async () => {
    const features = {
      ...plan,
      name: 'Dashboard features',
      baseFee: '0',
      prices: { ai_jobs: { model: 'perUnit', unitPrice: '2.00' } },
      features: {
        sso: { kind: 'boolean', value: true },
        advanced_reporting: { kind: 'boolean', value: false },
        users: { kind: 'static', value: '3' },
        jobs_per_month: { kind: 'metered', meter: 'ai_jobs', limit: '100' },
      },
    };
    expect((await api(stack, 'PUT', '/v1/admin/plans/dash-features', adminKey, features)).status).toBe(200);
    const key = await createTenant(stack, 'tenant-c');
    const startAt = new Date(monthStart()).toISOString();
    const sub = { planId: 'dash-features', startAt, prepaid: { overdraft: '10' } };
    expect((await api(stack, 'PUT', '/v1/admin/tenants/tenant-c/subscription', adminKey, sub)).status).toBe(201);
    const grant = { amount: '50.00', source: 'purchased', effectiveAt: startAt, description: 'Starter pack' };
    expect((await api(stack, 'POST', '/v1/admin/tenants/tenant-c/credits', adminKey, grant)).status).toBe(201);
    // 5 jobs at $2.00: $10.00 of the $50.00 burned.
    const jobs = Array.from({ length: 5 }, (_, i) => ({ id: `cj-${i}`, meter: 'ai_jobs', timestamp: recently(i) }));
    expect((await api(stack, 'POST', '/v1/events', key, jobs)).status).toBe(202);
    await stack.drained();
    expect((await api(stack, 'GET', '/v1/credits', key)).body).toMatchObject({ balance: '40.00', prepaid: { available: '50.00' } });

    const { page } = await signIn(key);
    await page.goto(`${stack.apiUrl}/#/plan`);
    const row = (feature: string) => page.locator(`[data-testid=entitlements] tr[data-feature="${feature}"]`);
    await row('sso').waitFor();
    expect(await row('sso').textContent()).toBe('SsoYes–');
    expect(await row('advanced_reporting').textContent()).toBe('Advanced reportingNo–');
    expect(await row('users').textContent()).toBe('Users3–');
    expect(await row('jobs_per_month').textContent()).toBe('Jobs per month100 jobs per period5 jobs · 95 jobs left');
    const balance = page.getByTestId('credit-balance');
    expect(await balance.locator('.quantity').textContent()).toBe('$40.00');
    expect(await balance.textContent()).toContain('Prepaid terms: $50.00 available, overdraft of $10.00 included');
    expect(await page.getByTestId('credit-grants').locator('tbody tr').first().textContent()).toBe('Starter pack$40.00$50.00no expiry');
    await page.close();
  });

  it('shows on the Plan page what the last invoiced period would have cost on another public plan, as the API answers it', async () => {
    const sim = (await api(stack, 'GET', '/v1/pricing/simulate?plan=professional', keys.a)).body;
    // Last month: the $49.00 base fee and no usage, against Professional's $999.00.
    expect(sim).toMatchObject({ issued: '49.00', simulated: '999.00', difference: '950.00' });
    const { page } = await signIn(keys.a);
    await page.goto(`${stack.apiUrl}/#/plan`);
    await page.getByTestId('simulate-plan').selectOption('professional');
    await expect.poll(() => page.getByTestId('simulation-difference').textContent()).toBe('$950.00');
    await page.close();
  });

  it('opens the Stripe customer portal from "Manage plan / payment methods"', async () => {
    await stack.runReport();
    const { page } = await signIn(keys.a);
    await page.goto(`${stack.apiUrl}/#/plan`);
    await page.getByRole('button', { name: 'Manage plan / payment methods' }).click();
    await page.waitForURL(/\/p\/session\//);
    expect(page.url().startsWith(stack.stripe!.url)).toBe(true);
    expect(await page.textContent('body')).toContain('tenant-a');
    expect(stack.stripe!.calls().some((c) => c.method === 'POST' && c.path === '/v1/billing_portal/sessions' && c.status === 200)).toBe(
      true,
    );
    await page.close();
  });
});

describe('operator console', () => {
  it('lists tenants with plan, projected revenue and invoices, and opens a tenant view', async () => {
    const revenueBefore = (await api(stack, 'GET', '/v1/admin/console', adminKey)).body.projectedRevenue.USD;
    const { page } = await signIn(adminKey);
    await page.getByRole('heading', { name: 'Operator console' }).waitFor();
    const revenueShown = await page.getByTestId('projected-revenue').getAttribute('data-value');
    const view = (await api(stack, 'GET', '/v1/admin/console', adminKey)).body;
    expectBetween(revenueShown, view.projectedRevenue.USD, revenueBefore);
    const row = page.locator('tr[data-tenant="tenant-b"]');
    expect(await row.textContent()).toContain('Dashboard test');
    expect(await page.locator('tr[data-status="open"]').textContent()).toContain('2');
    await expect.poll(() => page.getByTestId('quarantine').textContent()).toContain('None: every event received');
    const [tenantTab] = await Promise.all([context.waitForEvent('page'), row.getByRole('button', { name: /Open .* dashboard/ }).click()]);
    await tenantTab.getByRole('heading', { name: 'Overview' }).waitFor();
    await expect.poll(() => tenantTab.locator('article[data-meter="orders"] [data-testid=quantity]').getAttribute('data-value')).toBe('1');
    await tenantTab.close();
    await page.close();
  });
  it('starts a fleet price simulation, follows it to its result and shows its chart, totals and largest changes', async () => {
    // Last month's invoices of tenant-a and tenant-b are each the $49.00 base fee (their usage came this month);
    // on a $59.00 base fee each pays $10.00 (20.4%) more: $98.00 invoiced, $118.00 simulated.
    const candidate = { ...plan, name: 'Dashboard test 2027', baseFee: '59.00' };
    expect((await api(stack, 'PUT', '/v1/admin/plans/dash-candidate', adminKey, candidate)).status).toBe(200);
    const { page } = await signIn(adminKey);
    const card = page.getByTestId('simulations');
    await card.getByRole('combobox', { name: 'Plan' }).selectOption('dash-candidate');
    await card.getByRole('spinbutton', { name: 'Periods' }).fill('1');
    await card.getByRole('button', { name: 'Simulate on every tenant' }).click();
    await expect.poll(() => card.getByTestId('simulation-status').getAttribute('data-status')).toBe('queued');

    await stack.runSchedule('simulation-worker');
    await card.getByTestId('simulation-result').waitFor({ timeout: 10_000 });
    const period = new Date(lastMonthStart()).toISOString().slice(0, 7);
    const row = card.locator(`[data-testid=simulation-revenue] tr[data-period="${period}"]`);
    expect(await row.locator('td[data-value]').evaluateAll((cells) => cells.map((c) => c.getAttribute('data-value')))).toEqual([
      '98.00',
      '118.00',
      '20.00',
    ]);
    expect(await row.locator('td').first().textContent()).toBe('2');
    expect(await card.getByRole('img', { name: 'Revenue per period, invoiced and simulated' }).locator('canvas').count()).toBe(1);
    expect(await card.getByTestId('simulation-distribution').textContent()).toMatch(/^2 pay more, 0 pay less/);
    const increases = card.getByTestId('simulation-increases');
    for (const tenant of ['tenant-a', 'tenant-b'])
      expect(await increases.locator(`tr[data-tenant="${tenant}"]`).textContent()).toBe(`${tenant}$49.00$59.00$10.00 (20.4%)`);
    expect(await card.getByTestId('simulation-decreases').textContent()).toContain('None');

    const [download] = await Promise.all([page.waitForEvent('download'), card.getByRole('button', { name: 'Download CSV' }).click()]);
    const csv = readFileSync((await download.path())!, 'utf8')
      .trimEnd()
      .split('\r\n');
    expect(csv.slice(1).sort()).toEqual(
      ['tenant-a', 'tenant-b'].map((t) => `${t},${new Date(lastMonthStart()).toISOString()},49.00,59.00,10.00,20.4`),
    );
    // The console opens the job it started last again.
    await page.reload();
    await card.getByTestId('simulation-result').waitFor();
    await page.close();
  });
});

describe('isolation and scope', () => {
  it("keeps tenant A's session out of tenant B's data", async () => {
    const { page, token } = await signIn(keys.a);
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    const [invoiceOfB] = (await api(stack, 'GET', '/v1/invoices', keys.b)).body.invoices;
    const sessionOfB = (await api(stack, 'POST', '/v1/dashboard/sessions', keys.b)).body;
    const calls = await page.evaluate(
      async ({ token, invoice, sessionId }) => {
        const call = async (method: string, path: string, body?: unknown) => {
          const res = await fetch(path, {
            method,
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            ...(body ? { body: JSON.stringify(body) } : {}),
          });
          return res.status;
        };
        return {
          invoice: await call('GET', `/v1/invoices/${invoice}`),
          pdf: await call('GET', `/v1/invoices/${invoice}/pdf`),
          mint: await call('POST', '/v1/dashboard/sessions', { tenantId: 'tenant-b' }),
          revoke: await call('DELETE', `/v1/dashboard/sessions/${sessionId}`),
          console: await call('GET', '/v1/admin/console'),
          ingest: await call('POST', '/v1/events', { id: 'x', meter: 'orders', timestamp: new Date().toISOString() }),
        };
      },
      { token, invoice: invoiceOfB.id, sessionId: sessionOfB.sessionId },
    );
    expect(calls).toEqual({ invoice: 404, pdf: 404, mint: 403, revoke: 404, console: 403, ingest: 403 });
    await page.goto(`${stack.apiUrl}/#/invoices/${invoiceOfB.id}`);
    await page.getByRole('alert').getByText(`invoice ${invoiceOfB.id} does not exist`).waitFor();
    // B's session still works: A's attempt to revoke it changed nothing.
    expect((await api(stack, 'GET', '/v1/dashboard/session', sessionOfB.token)).body.tenant.id).toBe('tenant-b');
    await page.close();
  });

  it('ends a session on sign-out', async () => {
    const { page, token } = await signIn(keys.a);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('Open the dashboard with the sign-in link').waitFor();
    // The authorizer now refuses the token: API Gateway answers 403 before any function runs.
    expect((await api(stack, 'GET', '/v1/dashboard/session', token)).status).toBe(403);
    await page.close();
  });
});

/** Answers the page's requests to `pathname` with `handler` (any method, any query) until the returned function is called. */
async function answer(page: Page, pathname: string, handler: (route: Route) => Promise<void>): Promise<() => Promise<void>> {
  const match = (url: URL) => url.pathname === pathname;
  await page.route(match, handler);
  return () => page.unroute(match);
}
const refuse =
  (status: number, body?: object) =>
  (route: Route): Promise<void> =>
    route.fulfill({ status, contentType: 'application/json', body: body ? JSON.stringify(body) : '' });
const internalError = refuse(500, { code: 'INTERNAL', message: 'internal error' });
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

describe('when the API answers otherwise than hoped', () => {
  it('says it is loading while an answer is slow, what went wrong with a retry when one fails or none comes, and when the session has ended', async () => {
    const { page, token, sessionId } = await signIn(keys.a);
    await page.getByTestId('projected').waitFor();
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let undo = await answer(page, '/v1/usage/current', async (route) => {
      await held;
      await route.continue();
    });
    await page.reload();
    await page.getByRole('status').getByText('Loading your usage…').waitFor();
    release();
    await page.getByTestId('projected').waitFor();
    await undo();

    undo = await answer(page, '/v1/analytics', internalError);
    await page.reload();
    const alert = page.getByRole('alert');
    await alert.getByText('Something went wrong.').waitFor();
    expect(await alert.textContent()).toBe('Something went wrong. internal errorTry again');
    await undo();
    await alert.getByRole('button', { name: 'Try again' }).click();
    await page.getByTestId('projected').waitFor();

    undo = await answer(page, '/v1/usage/current', (route) => route.abort('internetdisconnected'));
    await page.reload();
    await alert.getByText('The Meterline API could not be reached. Check the connection and try again.').waitFor();
    await undo();

    expect((await api(stack, 'DELETE', `/v1/dashboard/sessions/${sessionId}`, token)).status).toBeLessThan(300);
    await page.reload();
    await alert.getByText('Your session has ended.').waitFor();
    expect(await alert.textContent()).toContain('Ask your product for a new dashboard link.');
    expect(await alert.getByRole('button').count()).toBe(0);
    await page.close();

    const visitor = await context.newPage();
    await visitor.goto(stack.apiUrl);
    await visitor.getByText('Open the dashboard with the sign-in link your product gives you.').waitFor();
    await visitor.close();
  });

  it('tells a tenant without a plan, invoices, alerts or meters what it sees and what to do, and shows a refused alert field under the field', async () => {
    const { page } = await signIn(await createTenant(stack, 'tenant-new'));
    await page.getByText('This account has no plan yet: usage is shown without costs.').waitFor();
    expect(await page.locator('article[data-meter="orders"] .cost').textContent()).toBe('Calendar month to date');
    await page.goto(`${stack.apiUrl}/#/plan`);
    await page.getByText('This account has no plan yet: its usage is recorded').waitFor();
    expect(await page.getByRole('alert').count()).toBe(0);
    await page.goto(`${stack.apiUrl}/#/invoices`);
    await page.getByText('No invoices yet: the first is issued when the current period closes.').waitFor();
    expect(await page.locator('tbody tr').count()).toBe(0);

    await page.goto(`${stack.apiUrl}/#/alerts`);
    await page.getByText('No alerts yet. Create one below to hear when usage or cost reaches a level.').waitFor();
    const form = page.getByRole('form', { name: 'New alert' });
    const threshold = form.getByLabel('Threshold this period');
    await form.getByLabel('Meter').selectOption('orders');
    await threshold.fill('0');
    await form.getByRole('button', { name: 'Create alert' }).click();
    await expect.poll(() => threshold.getAttribute('aria-invalid')).toBe('true');
    const reason = page.locator(`#${await threshold.getAttribute('aria-describedby')}`);
    expect(await reason.textContent()).toContain('positive decimal');
    expect(await form.getByRole('alert').count()).toBe(0);
    await threshold.fill('5');
    await form.getByRole('button', { name: 'Create alert' }).click();
    await page.locator('li[data-alert]', { hasText: 'Orders reaches 5 orders' }).waitFor();
    expect(await page.locator('li[data-alert]').textContent()).toContain('Not fired this period');
    await page.close();

    const bare = await signIn(await createTenant(stack, 'tenant-bare', []));
    await bare.page.getByText('No meters are defined yet. Once your product sends usage, each meter gets a card here.').waitFor();
    await bare.page.goto(`${stack.apiUrl}/#/usage`);
    await bare.page.getByText('No meters are defined yet.', { exact: true }).waitFor();
    await bare.page.close();
  });

  it('creates an alert of each kind, describes each in words, opens each to edit with its own values, says when one fired, and says so when deleting one fails', async () => {
    const { page } = await signIn(keys.b);
    await page.goto(`${stack.apiUrl}/#/alerts`);
    const form = page.getByRole('form', { name: 'New alert' });
    const create = async (name: string, kind: string, fill: () => Promise<unknown>) => {
      await form.getByLabel('Name').fill(name);
      await form.getByLabel('When').selectOption(kind);
      await fill();
      await form.getByRole('button', { name: 'Create alert' }).click();
      const item = page.locator('li[data-alert]', { hasText: name });
      await item.waitFor();
      return item.locator('p').allTextContents();
    };
    expect(
      await create('Near the quota', 'percent', async () => {
        await form.getByLabel('Meter').selectOption('api_calls');
        await form.getByLabel('Percent').fill('90');
        await form.getByLabel('Of').selectOption('quota');
      }),
    ).toEqual(['API calls reaches 90% of the hard quota', 'Not fired this period']);
    expect(
      await create('Big month', 'spend', async () => {
        await form.getByLabel('Amount').fill('150');
        await form.getByLabel('Cost').selectOption('projected');
      }),
    ).toEqual(['Projected cost reaches $150.00', 'Not fired this period']);
    expect(await create('Credit low', 'balance', () => form.getByLabel('Credit left').fill('10'))).toEqual([
      'Prepaid credit falls to $10.00 or less',
      'Not fired this period',
    ]);
    expect(await create('Odd usage', 'anomaly', () => form.getByLabel('Sensitivity').selectOption('low'))).toEqual([
      'Any meter leaves its usual range (low sensitivity)',
      'No episodes yet.',
    ]);
    // Shorter than the shortest gap the API watches: refused, with the reason under the field.
    const after = form.getByLabel('Silent for (minutes)');
    await form.getByLabel('Name').fill('Quiet');
    await form.getByLabel('When').selectOption('silence');
    await after.fill('5');
    await form.getByRole('button', { name: 'Create alert' }).click();
    await expect.poll(() => after.getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator(`#${await after.getAttribute('aria-describedby')}`).textContent()).toMatch(/15/);
    expect(await create('Quiet', 'silence', () => after.fill('30'))).toEqual([
      'All meters together report nothing for 30 minutes',
      'No episodes yet.',
    ]);

    // The edit form opens with the rule's own values.
    const edit = async (name: string, fields: Record<string, string>) => {
      // By its id: once editing, its name is in an input, no longer in its text.
      const id = await page.locator('li[data-alert]', { hasText: name }).getAttribute('data-alert');
      const item = page.locator(`li[data-alert="${id}"]`);
      await item.getByRole('button', { name: 'Edit', exact: true }).click();
      for (const [label, value] of Object.entries(fields)) expect(await item.getByLabel(label, { exact: true }).inputValue()).toBe(value);
      await item.getByRole('button', { name: 'Cancel' }).click();
    };
    await edit('Near the quota', { Percent: '90', Of: 'quota' });
    await edit('Big month', { Amount: '150', Cost: 'projected' });
    await edit('Credit low', { 'Credit left': '10' });
    await edit('Odd usage', { Sensitivity: 'low' });
    await edit('Quiet', { 'Silent for (minutes)': '30' });

    // A rule that fired says when, and at what.
    await create('First order', 'quantity', async () => {
      await form.getByLabel('Meter').selectOption('orders');
      await form.getByLabel('Threshold this period').fill('1');
    });
    await stack.runSchedule('alert-evaluator');
    await page.reload();
    await expect
      .poll(() => page.locator('li[data-alert]', { hasText: 'First order' }).locator('p').nth(1).textContent())
      .toMatch(/^Fired .+ at 1 order$/);

    const undo = await answer(
      page,
      `/v1/alerts/${await page.locator('li[data-alert]', { hasText: 'Big month' }).getAttribute('data-alert')}`,
      (route) => (route.request().method() === 'DELETE' ? internalError(route) : route.continue()),
    );
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Delete Big month' }).click();
    await page.getByRole('alert').getByText('Something went wrong. internal error').waitFor();
    expect(await page.locator('li[data-alert]', { hasText: 'Big month' }).count()).toBe(1);
    await undo();
    await page.close();
  });

  it('shows every price model, unlimited features, unit and expiring credit grants, hard limits and a trial that ends on the Plan page, each part failing on its own', async () => {
    const rates = {
      name: 'Dashboard rates',
      currency: 'USD',
      interval: 'month',
      baseFee: '0',
      prices: {
        orders: { model: 'free' },
        invoices: { model: 'package', packageSize: '1000', packagePrice: '5.00', rounding: 'up' },
        estimates: { model: 'package', packageSize: '10', packagePrice: '1.00', rounding: 'prorated' },
        api_calls: { model: 'quota', included: 'unlimited', unitPrice: '0' },
        ai_jobs: {
          model: 'graduated',
          tiers: [
            { upTo: '100', unitPrice: '0.50' },
            { upTo: null, unitPrice: '0.25' },
          ],
        },
        seats: {
          model: 'volume',
          tiers: [
            { upTo: '10', unitPrice: '8.00' },
            { upTo: null, unitPrice: '6.00' },
          ],
        },
        storage_gb: { model: 'perUnit', unitPrice: '0.10' },
      },
      features: {
        projects: { kind: 'static', value: 'unlimited' },
        jobs: { kind: 'metered', meter: 'ai_jobs', limit: 'unlimited' },
      },
    };
    expect((await api(stack, 'PUT', '/v1/admin/plans/dash-rates', adminKey, rates)).status).toBe(200);
    const key = await createTenant(stack, 'tenant-rates');
    const startAt = new Date(monthStart()).toISOString();
    const subscription = '/v1/admin/tenants/tenant-rates/subscription';
    expect(await api(stack, 'PUT', subscription, adminKey, { planId: 'dash-rates', startAt, trialDays: 60 })).toMatchObject({
      status: 201,
    });
    expect(await api(stack, 'PUT', subscription, adminKey, { cancelAtPeriodEnd: true })).toMatchObject({ status: 200 });
    const grants = [
      { amount: '100', meter: 'ai_jobs', source: 'promotional', recurrence: 'monthly', effectiveAt: startAt },
      { amount: '25.00', source: 'manual', effectiveAt: startAt, expiresAt: new Date(monthStart() + 400 * 86_400_000).toISOString() },
    ];
    for (const grant of grants)
      expect((await api(stack, 'POST', '/v1/admin/tenants/tenant-rates/credits', adminKey, grant)).status).toBe(201);
    expect((await api(stack, 'PUT', '/v1/admin/tenants/tenant-rates/quotas/orders', adminKey, { limit: '1000' })).status).toBeLessThan(300);

    const { page } = await signIn(key);
    await page.goto(`${stack.apiUrl}/#/plan`);
    const rateRows = page.locator('h2:text-is("Rates") + .table-scroll tbody tr');
    await rateRows.first().waitFor();
    const terms = page.locator('article.card', { has: page.getByRole('heading', { name: 'Dashboard rates' }) }).locator('p.muted');
    expect(await terms.textContent()).toMatch(/ \(trial\) · ends [A-Z][a-z]{2} \d{1,2}, \d{4} · time zone UTC$/);
    // A row names its meter once the meters have come too (the plan may come first, and rows show keys until then);
    // the parts read below take their names and units from the same meters.
    await expect
      .poll(() => rateRows.allTextContents())
      .toEqual([
        'Invoices$5.00 per 1,000 invoices, each started package in full',
        'Storage$0.10 per GB-month',
        'AI jobsup to 100 jobs: $0.50 per job; beyond: $0.25 per job',
        'Ordersfree',
        'API callsincluded, unlimited',
        'Active usersup to 10 users: $8.00 per user; beyond: $6.00 per user (all units at the reached tier)',
        'Estimates$1.00 per 10 estimates, partial packages prorated',
      ]);
    await page.getByTestId('entitlements').waitFor();
    expect(await page.getByTestId('entitlements').locator('tbody tr').allTextContents()).toEqual([
      'JobsUnlimited0 jobs',
      'ProjectsUnlimited–',
    ]);
    await page.getByTestId('credit-grants').waitFor();
    const expiry = new Date(grants[1]!.expiresAt!).toLocaleDateString('en-US', { timeZone: 'UTC', dateStyle: 'medium' });
    expect((await page.getByTestId('credit-grants').locator('tbody tr').allTextContents()).sort()).toEqual([
      `Manual$25.00$25.00${expiry}`,
      'Promotional (AI jobs)100 jobs100 jobs a monthrenews monthly',
    ]);
    expect(await page.getByTestId('credit-balance').textContent()).toContain('$25.00 expected at the end of the period');
    expect(await page.locator('.quota').allTextContents()).toEqual(['Orders0 orders of 1,000 orders0% used']);
    await page.getByText('No invoiced period yet to compare.').waitFor();

    // Not linked to a Stripe customer yet: the portal is refused, and the page says why.
    await page.getByRole('button', { name: 'Manage plan / payment methods' }).click();
    await page.getByRole('alert').getByText('not linked to a Stripe customer yet').waitFor();

    const undoFeatures = await answer(page, '/v1/entitlements', internalError);
    const undoLimits = await answer(page, '/v1/quotas', refuse(503));
    await page.reload();
    await page.getByRole('alert').getByText('Something went wrong. Service Unavailable').waitFor();
    await page.getByRole('alert').getByText('Something went wrong. internal error').waitFor();
    expect(await page.getByText('No hard limits are set on this account.').count()).toBe(0);
    await undoFeatures();
    await undoLimits();
    await page.close();
  });

  it('narrows the usage charts by range and meter, says when a range is empty or backwards, and retries a chart that failed', async () => {
    const { page } = await signIn(keys.a);
    await page.goto(`${stack.apiUrl}/#/usage`);
    const jobs = page.locator('article[data-meter="ai_jobs"]');
    await jobs.locator('canvas').first().waitFor();
    await page.getByLabel('90 days').check();
    expect(await page.getByLabel('hour', { exact: true }).isDisabled()).toBe(true);
    await page.getByText('(hours up to 41 days)').waitFor();

    await page.getByLabel('Custom').check();
    const from = page.getByLabel('From', { exact: true });
    const to = page.getByLabel('To', { exact: true });
    await from.fill(isoDay(lastMonthStart()));
    await to.fill(isoDay(monthStart() - 86_400_000));
    await jobs.getByText('No grouped usage in this range.').waitFor();
    await from.fill(isoDay(monthStart() + 86_400_000));
    await page.getByText('Pick a start date before the end date.').waitFor();
    expect(await page.locator('article[data-meter]').count()).toBe(0);

    const undo = await answer(page, '/v1/usage', refuse(503));
    await page.getByLabel('Meter').selectOption('orders');
    await page.getByLabel('30 days').check();
    const orders = page.locator('article[data-meter="orders"]');
    await orders.getByRole('alert').getByText('Something went wrong. Service Unavailable').waitFor();
    expect(await page.locator('article[data-meter]').count()).toBe(1);
    await undo();
    await orders.getByRole('button', { name: 'Try again' }).click();
    await orders.locator('canvas').first().waitFor();
    await page.close();
  });

  it('says so on the invoice page when its PDF cannot be fetched, and clears that once a document opens', async () => {
    const [invoice] = (await api(stack, 'GET', '/v1/invoices', keys.a)).body.invoices;
    const { page } = await signIn(keys.a);
    await page.goto(`${stack.apiUrl}/#/invoices/${encodeURIComponent(invoice.id)}`);
    const undo = await answer(page, `/v1/invoices/${invoice.id}/pdf`, internalError);
    await page.getByRole('button', { name: 'Download PDF' }).click();
    await page.getByRole('alert').getByText('Something went wrong. internal error').waitFor();
    await undo();
    const [printable] = await Promise.all([context.waitForEvent('page'), page.getByRole('button', { name: 'Printable page' }).click()]);
    await printable.close();
    await page.getByRole('alert').waitFor({ state: 'detached' });
    await page.close();
  });

  it("shows the operator a simulation's refused version under its field, a running and a failed simulation, a tenant dashboard that could not be opened, and the local mailbox", async () => {
    const { page } = await signIn(adminKey);
    const card = page.getByTestId('simulations');
    const version = card.getByRole('spinbutton', { name: 'Version' });
    await version.fill('99');
    await card.getByRole('button', { name: 'Simulate on every tenant' }).click();
    await expect.poll(() => version.getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('#simulation-version-error').textContent()).toContain('has no version 99');
    expect(await card.getByRole('alert').count()).toBe(0);

    // The job started last, read while it runs and after it failed.
    const jobId = await page.evaluate(() => localStorage.getItem('meterline.simulation'));
    expect(jobId).toBeTruthy();
    let reads = 0;
    const undoJob = await answer(page, `/v1/admin/simulations/${jobId}`, async (route) => {
      const { result: _, ...job } = await (await route.fetch()).json();
      const state =
        reads++ === 0
          ? { ...job, status: 'running', progress: { ...job.progress, tenants: 1, subscriptions: 2 } }
          : { ...job, status: 'failed', error: 'the plan dash-candidate was deleted while the job ran' };
      await route.fulfill({ json: state });
    });
    await page.reload();
    const status = card.getByTestId('simulation-status');
    await expect.poll(() => status.textContent()).toMatch(/: running · 1 of 2 subscriptions priced$/);
    await expect.poll(() => status.getAttribute('data-status')).toBe('failed');
    expect(await card.locator('p.error').textContent()).toBe('the plan dash-candidate was deleted while the job ran');
    expect(await card.getByTestId('simulation-result').count()).toBe(0);
    await undoJob();

    const undo = await answer(page, '/v1/dashboard/sessions', internalError);
    await page
      .locator('tr[data-tenant="tenant-b"]')
      .getByRole('button', { name: /Open .* dashboard/ })
      .click();
    await page.getByRole('alert').getByText('Something went wrong. internal error').waitFor();
    await undo();

    await page.getByRole('link', { name: 'Mailbox' }).click();
    await page.getByRole('heading', { name: 'Mailbox' }).waitFor();
    const address = 'ops@tenant-a.example';
    expect((await api(stack, 'POST', '/v1/email/recipients', keys.a, { address, role: 'technical' })).status).toBe(201);
    const [mail] = await eventually(
      async () => stack.mailbox.messages.filter((m) => m.envelopeTo.includes(address)),
      (m) => m.length === 1,
    );
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.getByRole('link', { name: mail!.subject }).click();
    const message = page.getByRole('region', { name: 'Message' });
    await message.getByRole('heading', { name: mail!.subject }).waitFor();
    expect((await message.locator('dd').allTextContents()).slice(0, 2)).toEqual([mail!.from, address]);
    expect(await page.locator('tr[aria-current="true"]').textContent()).toContain(mail!.subject);
    expect(await message.locator('pre').first().textContent()).toBe(mail!.text);
    await page.close();
  });
});
