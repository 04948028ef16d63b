import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { DASHBOARD_BUNDLE } from '../../dashboard/build.js';
import { EXTERNAL_COVERAGE_DIR, type ExternalScript, recordExternalCoverage } from '../support/external-coverage.js';

/** Debian's chromium, which `.ci/run` installs; playwright-core never downloads a browser. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Headless Chromium with a fresh profile (Playwright passes it as --user-data-dir) and nothing that
 * phones home. Each tab keeps its own dashboard session (sessionStorage), so one profile serves tenants
 * and the operator side by side.
 */
export async function launchChromium(
  viewport = { width: 1280, height: 900 },
): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'meterline-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    acceptDownloads: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const coverage = EXTERNAL_COVERAGE_DIR ? measureDashboard(context) : undefined;
  return {
    context,
    close: async () => {
      await coverage?.();
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Counts what the dashboard's bundle runs in every tab of `context` for the run's coverage (tests/support/
 * external-coverage.ts). Chromium's counts go when a tab closes, so a tab hands them over first, in its `close`; the
 * returned function takes them from the tabs still open.
 */
function measureDashboard(context: BrowserContext): () => Promise<void> {
  const bundle = pathToFileURL(DASHBOARD_BUNDLE).href;
  const open = new Set<() => Promise<void>>();
  const measure = (page: Page) => {
    let started = page.coverage.startJSCoverage({ resetOnNavigation: false });
    const record = async () => {
      await started;
      const scripts: ExternalScript[] = [];
      for (const { url, source, functions } of await page.coverage.stopJSCoverage())
        if (source && new URL(url).pathname === '/app.js') scripts.push({ url: bundle, source, functions });
      recordExternalCoverage(scripts);
    };
    const take = async () => {
      open.delete(take);
      await record();
    };
    open.add(take);
    page.once('close', () => open.delete(take));
    const close = page.close.bind(page);
    page.close = async (options) => {
      if (open.has(take)) await take();
      return close(options);
    };
    // Loading the page again drops the counts of the scripts it replaces, whatever resetOnNavigation says: they go first.
    const again = async () => {
      await record();
      started = page.coverage.startJSCoverage({ resetOnNavigation: false });
    };
    const reload = page.reload.bind(page);
    page.reload = async (options) => {
      if (open.has(take)) await again();
      return reload(options);
    };
    const goto = page.goto.bind(page);
    page.goto = async (url, options) => {
      if (open.has(take)) await again();
      return goto(url, options);
    };
  };
  context.on('page', measure);
  return async () => {
    context.off('page', measure);
    await Promise.all([...open].map((take) => take().catch(() => undefined)));
  };
}
