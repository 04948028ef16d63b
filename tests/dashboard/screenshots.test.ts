/// <reference lib="dom" />
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoEvents, postEvents } from '../../local/demo-usage.js';
import { seedDemo } from '../../local/seed.js';
import type { LocalStack } from '../../local/stack.js';
import { DynamoBillingStore } from '../../shared/billing/adapters/billing-store.js';
import { newSubscription } from '../../shared/billing/subscriptions.js';
import { documentClient } from '../../shared/platform/dynamo/client.js';
import { api, createTenant, directoryOf, startTestStack } from '../support/stack.js';
import { launchChromium } from './browser.js';
import { writeHistory } from './history.js';

/**
 * `npm run screenshots` (skipped in `npm test`): the demo tenant as `npm start` seeds it, with last
 * month closed into an invoice, photographed at desktop and phone width into docs/screenshots/; and the operator
 * console's price simulation of a cheaper base fee with dearer orders over a small fleet's last three months.
 */
const enabled = process.env.DASHBOARD_SCREENSHOTS === '1';
const OUT = resolve(import.meta.dirname, '..', '..', 'docs', 'screenshots');

let stack: LocalStack;
let url = '';
let invoiceId = '';
let consoleUrl = '';
/** Customers on the demo plan for three closed months, each with its own mix of orders and AI jobs. */
const FLEET = 8;

describe.skipIf(!enabled)('dashboard screenshots', () => {
  beforeAll(async () => {
    stack = await startTestStack({ env: { GRACE_PERIOD_HOURS: '1' } });
    const billing = new DynamoBillingStore(documentClient(stack.dynamo), stack.env.BILLING_TABLE!);
    const seed = await seedDemo(directoryOf(stack), billing);
    // The subscription began last month, whose usage is history by now; it closes into an invoice.
    const now = new Date();
    const lastMonth = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1);
    const thisMonth = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
    const stored = (await billing.getSubscription('demo'))!;
    const earlier = newSubscription({
      tenantId: 'demo',
      planId: seed.planId,
      interval: 'month',
      currency: 'USD',
      startAt: lastMonth,
      now: now.getTime(),
    });
    await billing.putSubscription({ ...earlier, version: stored.version });
    await writeHistory(stack, 'demo', demoEvents(thisMonth - 1, 3));
    await postEvents(stack.apiUrl, seed.tenantKey, demoEvents());
    await stack.drained(600_000);
    for (let i = 1; i <= FLEET; i++) {
      const tenantId = `customer-${i}`;
      await createTenant(stack, tenantId);
      const startAt = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 3, 1)).toISOString();
      expect(
        (await api(stack, 'PUT', `/v1/admin/tenants/${tenantId}/subscription`, seed.adminKey, { planId: seed.planId, startAt })).status,
      ).toBe(201);
      const history = [0, 1, 2].flatMap((month) => {
        const at = (n: number) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 3 + month, 10) + n * 60_000).toISOString();
        const events = (meter: string, n: number) =>
          Array.from({ length: n }, (_, k) => ({ id: `${meter}-${month}-${k}`, meter, timestamp: at(k) }));
        return [...events('orders', 30 * i * (month + 2)), ...events('ai_jobs', 4 * (FLEET + 1 - i) * (month + 1))];
      });
      await writeHistory(stack, tenantId, history);
    }
    const candidate = {
      ...(await api(stack, 'GET', `/v1/admin/plans/${seed.planId}`, seed.adminKey)).body,
      name: 'Growth 2027',
      baseFee: '179.00',
      public: false,
    };
    candidate.prices = {
      ...candidate.prices,
      orders: { model: 'perUnit', unitPrice: '0.16' },
      ai_jobs: { model: 'perUnit', unitPrice: '0.40' },
    };
    for (const field of ['id', 'version', 'effectiveAt', 'features']) delete candidate[field];
    expect((await api(stack, 'PUT', '/v1/admin/plans/growth-2027', seed.adminKey, candidate)).status).toBe(200);
    // After last month's hour of grace, even when run in this month's first hour.
    await stack.runSchedule('invoicing', new Date(Math.max(Date.now(), thisMonth + 2 * 3_600_000)));
    invoiceId = (await api(stack, 'GET', '/v1/invoices', seed.tenantKey)).body.invoices[0].id;
    url = (await api(stack, 'POST', '/v1/dashboard/sessions', seed.tenantKey)).body.url;
    consoleUrl = (await api(stack, 'POST', '/v1/dashboard/sessions', seed.adminKey, {})).body.url;
    mkdirSync(OUT, { recursive: true });
  }, 1_800_000);

  afterAll(async () => {
    await stack?.stop();
  });

  for (const [device, viewport] of [
    ['desktop', { width: 1280, height: 900 }],
    ['phone', { width: 390, height: 844 }],
  ] as const) {
    it(`photographs the overview, usage, invoice and plan pages at ${device} width`, async () => {
      const chrome = await launchChromium(viewport);
      try {
        const page = await chrome.context.newPage();
        await page.goto(url);
        await page.locator('[data-testid=upcoming-total]').waitFor();
        await page.screenshot({ path: resolve(OUT, `overview-${device}.png`), fullPage: true });
        await page.goto(`${stack.apiUrl}/#/usage`);
        await page.locator('article[data-meter="ai_jobs"] table.groups').waitFor();
        await page.waitForFunction(() => !document.querySelector('.loading'));
        await page.screenshot({ path: resolve(OUT, `usage-${device}.png`), fullPage: device === 'desktop' });
        await page.goto(`${stack.apiUrl}/#/invoices/${invoiceId}`);
        await page.getByTestId('invoice-total').waitFor();
        await page.screenshot({ path: resolve(OUT, `invoice-${device}.png`), fullPage: true });
        await page.goto(`${stack.apiUrl}/#/plan`);
        await page.getByTestId('credit-balance').waitFor();
        await page.screenshot({ path: resolve(OUT, `plan-${device}.png`), fullPage: true });
        expect(invoiceId).toMatch(/^INV-/);
      } finally {
        await chrome.close();
      }
    });
  }

  it("photographs the operator console's fleet price simulation at desktop width", async () => {
    const chrome = await launchChromium();
    try {
      const page = await chrome.context.newPage();
      await page.goto(consoleUrl);
      const card = page.getByTestId('simulations');
      await card.getByRole('combobox', { name: 'Plan' }).selectOption('growth-2027');
      await card.getByRole('button', { name: 'Simulate on every tenant' }).click();
      await card.getByTestId('simulation-status').waitFor();
      await stack.runSchedule('simulation-worker');
      await card.getByTestId('simulation-result').waitFor({ timeout: 10_000 });
      await card.screenshot({ path: resolve(OUT, 'console-simulation-desktop.png') });
    } finally {
      await chrome.close();
    }
  });
});
