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
import { api, directoryOf, startTestStack } from '../support/stack.js';
import { launchChromium } from './browser.js';
import { writeHistory } from './history.js';

/**
 * `npm run screenshots` (skipped in `npm test`): the demo tenant as `npm start` seeds it, with last
 * month closed into an invoice, photographed at desktop and phone width into docs/screenshots/.
 */
const enabled = process.env.DASHBOARD_SCREENSHOTS === '1';
const OUT = resolve(import.meta.dirname, '..', '..', 'docs', 'screenshots');

let stack: LocalStack;
let url = '';
let invoiceId = '';

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
    // After last month's hour of grace, even when run in this month's first hour.
    await stack.runSchedule('invoicing', new Date(Math.max(Date.now(), thisMonth + 2 * 3_600_000)));
    invoiceId = (await api(stack, 'GET', '/v1/invoices', seed.tenantKey)).body.invoices[0].id;
    url = (await api(stack, 'POST', '/v1/dashboard/sessions', seed.tenantKey)).body.url;
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
});
