/// <reference lib="dom" />
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDashboard } from '../../dashboard/build.js';
import type { LocalStack } from '../../local/stack.js';
import type { Meter } from '../../shared/metering/meters.js';
import { seedMeters } from '../../shared/metering/seed-meters.js';
import { api, createAdminKey, createTenant, startTestStack } from '../support/stack.js';
import { launchChromium } from './browser.js';
import { writeHistory } from './history.js';

/**
 * The browser suite's benchmark mode (`npm run bench:dashboard`; skipped in `npm test`): the bundle's
 * gzipped size, and the time from navigation to the first full render of the overview and of the
 * usage page (90 days, a chart per meter) for a tenant with 12 meters and 90 days of data. Printed,
 * not asserted.
 */
const enabled = process.env.DASHBOARD_BENCH === '1';
const DAY = 86_400_000;
const extraMeters: Meter[] = ['exports', 'reports', 'webhooks', 'sms', 'emails'].map((key) => ({
  key,
  name: key[0]!.toUpperCase() + key.slice(1),
  unit: key.replace(/s$/, ''),
  aggregation: 'COUNT',
  groupBy: [],
}));

let stack: LocalStack;
let key = '';
let chrome: Awaited<ReturnType<typeof launchChromium>>;

describe.skipIf(!enabled)('dashboard benchmark', () => {
  beforeAll(async () => {
    stack = await startTestStack();
    const admin = await createAdminKey(stack);
    key = await createTenant(stack, 'bench-12', [...seedMeters, ...extraMeters]);
    const start = Date.now() - 90 * DAY;
    const d = new Date(start);
    await api(stack, 'PUT', '/v1/admin/tenants/bench-12/subscription', admin, {
      planId: 'base-199',
      startAt: new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)).toISOString(),
    });
    const events: Record<string, unknown>[] = [];
    for (let at = start; at < Date.now() - 3_600_000; at += 2 * 3_600_000) {
      for (const meter of [...seedMeters, ...extraMeters]) {
        const base = { id: `${meter.key}-${at}`, meter: meter.key, timestamp: new Date(at).toISOString() };
        if (meter.key === 'storage_gb') events.push({ ...base, value: (40 + (at - start) / (9 * DAY)).toFixed(2) });
        else if (meter.key === 'seats') events.push({ ...base, properties: { user_id: `user-${(at / 3_600_000) % 17}` } });
        else if (meter.key === 'ai_jobs')
          events.push({ ...base, properties: { job_type: ['summary', 'extraction', 'translation'][(at / 7_200_000) % 3] } });
        else events.push(base);
      }
    }
    const written = await writeHistory(stack, 'bench-12', events);
    console.log(`benchmark tenant: 12 meters, 90 days, ${written} events`);
    chrome = await launchChromium();
  }, 1_800_000);

  afterAll(async () => {
    await chrome?.close();
    await stack?.stop();
  });

  it('measures the bundle and the time to first full render', async () => {
    const files = await buildDashboard();
    const js = files.get('app.js')!.body;
    const css = files.get('app.css')!.body;
    const session = (await api(stack, 'POST', '/v1/dashboard/sessions', key)).body;
    const rows: string[] = [];
    for (let run = 0; run < 3; run++) {
      const page = await chrome.context.newPage();
      await page.goto(session.url);
      await page.waitForFunction(
        () =>
          document.querySelectorAll('article[data-meter] [data-testid=quantity]').length === 12 &&
          document.querySelector('[data-testid=upcoming-total]'),
        undefined,
        { timeout: 120_000 },
      );
      const overview = await page.evaluate(() => performance.now());
      await page.evaluate(() => {
        location.hash = '#/usage';
      });
      const t0 = await page.evaluate(() => performance.now());
      await page.getByLabel('90 days').check();
      await page.waitForFunction(
        () => document.querySelectorAll('.chart canvas').length >= 13 && !document.querySelector('.loading'),
        undefined,
        { timeout: 120_000 },
      );
      const usage = (await page.evaluate(() => performance.now())) - t0;
      rows.push(`run ${run + 1}: overview ${overview.toFixed(0)} ms from navigation; usage (12 charts, 90 days) ${usage.toFixed(0)} ms`);
      await page.close();
    }
    console.log(
      [
        `dashboard JS ${(js.length / 1024).toFixed(1)} KiB, ${(gzipSync(js).length / 1024).toFixed(1)} KiB gzipped; CSS ${(gzipSync(css).length / 1024).toFixed(1)} KiB gzipped`,
        ...rows,
      ].join('\n'),
    );
    expect(rows).toHaveLength(3);
  });
});
