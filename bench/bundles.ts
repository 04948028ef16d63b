import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleFunction } from '../infra/bundling.js';
import { functionSpecs } from '../infra/catalog.js';
import { tables } from '../shared/platform/dynamo/tables.js';
import { printTable } from './report.js';

/** The environment a deployed function starts with, minus real endpoints: module init makes no calls. */
const env = {
  ...process.env,
  AWS_LAMBDA_FUNCTION_NAME: 'bench',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  USAGE_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/usage',
  WEBHOOK_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/webhooks',
  REPORT_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/reports',
  EMAIL_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/emails',
  EMAIL_FROM: 'billing@meterline.dev',
  EMAIL_LINKS_URL: 'https://links.meterline.dev',
  SES_CONFIGURATION_SET: 'meterline',
  EXPORT_BUCKET: 'bench-export',
  DASHBOARD_URL: 'https://dashboard.meterline.dev',
  EVENT_BUS_NAME: 'meterline',
  STRIPE_SECRET_KEY: 'sk_test_bench',
  STRIPE_WEBHOOK_SECRET: 'whsec_bench',
  ...Object.fromEntries(Object.values(tables).map((t) => [t.env, `bench-${t.env.toLowerCase()}`])),
};

const INIT_RUNS = 11;

/** Each function's deployed bundle: what its cold start loads, what stays lazy, and how long a fresh Node 22 process takes to import it (median of 11: this machine is noisy). */
export async function bundles() {
  const dir = mkdtempSync(join(tmpdir(), 'meterline-bundles-'));
  const rows = [];
  try {
    for (const [name, spec] of Object.entries(functionSpecs)) {
      const out = join(dir, name);
      const size = await bundleFunction(spec.entry, out);
      const file = join(out, 'index.mjs');
      const script = `const t = performance.now(); await import(${JSON.stringify(`file://${file}`)}); console.log(performance.now() - t);`;
      const samples = Array.from({ length: INIT_RUNS }, () =>
        Number(execFileSync(process.execPath, ['--input-type=module', '-e', script], { env, encoding: 'utf8' }).trim()),
      ).sort((a, b) => a - b);
      rows.push({
        function: name,
        'bundle KiB (loaded at init)': Math.round(size.bytes / 1024),
        'lazy chunks KiB': Math.round(size.lazyBytes / 1024),
        'source map KiB': Math.round(size.sourceMapBytes / 1024),
        'init ms (median)': samples[Math.floor(INIT_RUNS / 2)]!,
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  printTable('Function bundles (deployment esbuild settings) and module init time on Node 22', rows);
}
