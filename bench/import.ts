import './quiet.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { functionSpecs, usageQueueSettings } from '../infra/catalog.js';
import { startLocalStack } from '../local/stack.js';
import { importEvents } from '../scripts/admin/import.js';
import { granularities, periodKey } from '../shared/kernel/periods.js';
import { DynamoCounterReader } from '../shared/metering/adapters/counter-reader.js';
import { seedMeters } from '../shared/metering/seed-meters.js';
import { documentClient } from '../shared/platform/dynamo/client.js';
import { DynamoTenantDirectory } from '../shared/tenancy/adapters/tenant-directory.js';
import { issueApiKey } from '../shared/tenancy/api-keys.js';
import { printTable } from './report.js';

/**
 * `npm run bench:import [events]`: the admin CLI's import (100,000 events by default) against the whole local stack,
 * stopped halfway and resumed, then every hour, day and month counter compared with the file: each event counted once.
 */
const total = Number(process.argv[2] ?? 100_000);
const HOUR = 3_600_000;
const history = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth() - 3, 1);

// The usage queue's visibility timeout as AWS sets it (six consumer timeouts plus the batching window): a batch still
// being folded is never handed to a second consumer, which on this machine's DynamoDB Local would double the work.
const visibilityTimeoutSeconds = functionSpecs.consumer.timeoutSeconds * 6 + usageQueueSettings.maxBatchingWindowSeconds;
const stack = await startLocalStack({ visibilityTimeoutSeconds, consumerConcurrency: 4 });
const dir = mkdtempSync(join(tmpdir(), 'meterline-bench-import-'));
try {
  const directory = new DynamoTenantDirectory(documentClient(stack.dynamo), stack.env.TENANTS_TABLE!);
  await directory.createTenant({ id: 'history', name: 'History', createdAt: new Date().toISOString() });
  for (const m of seedMeters) await directory.putMeter('history', m);
  const admin = (await issueApiKey(directory, { admin: true }, 'bench', Date.now())).token;
  const file = join(dir, 'usage.ndjson');
  const lines = Array.from({ length: total }, (_, i) =>
    JSON.stringify({ id: `h-${i}`, meter: 'orders', timestamp: new Date(history + (i % 1_000) * HOUR).toISOString() }),
  );
  writeFileSync(file, `${lines.join('\n')}\n`);

  const target = { apiUrl: stack.apiUrl, adminKey: admin };
  const stop = new AbortController();
  const rows = [];
  let start = performance.now();
  // A run that gives up (a batch failing every attempt on a loaded machine) is one more interruption: resume again.
  let failures = 0;
  const resume = async (options: Partial<Parameters<typeof importEvents>[0]> = {}) => {
    for (;;) {
      try {
        return await importEvents({ target, tenantId: 'history', file, firstImport: true, ...options });
      } catch (error) {
        failures += 1;
        console.error(`the import stopped (${(error as Error).message}); resuming`);
        if (failures > 20) throw error;
      }
    }
  };
  const first = await resume({ signal: stop.signal, onProgress: (done) => done >= total / 2 && stop.abort() });
  let seconds = (performance.now() - start) / 1000;
  rows.push({
    run: 'first, stopped halfway',
    events: first.done,
    seconds: seconds.toFixed(1),
    'events/s': Math.round(first.done / seconds),
    duplicates: first.duplicates,
    retried: first.retried,
  });
  start = performance.now();
  const resumed = await resume();
  seconds = (performance.now() - start) / 1000;
  const sent = resumed.done - resumed.resumedFrom;
  rows.push({
    run: failures ? `resumed (and ${failures} stops on errors)` : 'resumed',
    events: sent,
    seconds: seconds.toFixed(1),
    'events/s': Math.round(sent / seconds),
    duplicates: resumed.duplicates - first.duplicates,
    retried: resumed.retried - first.retried,
  });
  await stack.drained(1_800_000);
  const counted = (performance.now() - start) / 1000 + Number(rows[0]!.seconds);
  const store = new DynamoCounterReader(documentClient(stack.dynamo), stack.env.COUNTERS_TABLE!);
  // Ground truth from the file itself: every hour, day and month counter of the meter, its value and its event count.
  const expected = new Map<string, number>();
  for (const line of lines) {
    const at = Date.parse((JSON.parse(line) as { timestamp: string }).timestamp);
    for (const g of granularities) expected.set(`${g} ${periodKey(g, at)}`, (expected.get(`${g} ${periodKey(g, at)}`) ?? 0) + 1);
  }
  const found = new Map<string, { value: string; events: number }>();
  for (const g of granularities)
    for (const row of await store.series('history', 'orders', g, '0000', '9999')) found.set(`${g} ${row.period}`, row);
  const wrong = [...new Set([...expected.keys(), ...found.keys()])].filter((k) => {
    const row = found.get(k);
    return !row || Number(row.value) !== expected.get(k) || row.events !== expected.get(k);
  });
  const sum = [...found].reduce((n, [k, row]) => n + (k.startsWith('month ') ? Number(row.value) : 0), 0);
  printTable(`events import of ${total.toLocaleString('en-US')} events through the local stack (accepted = durably queued)`, rows);
  console.log(
    `\ncounted: ${sum.toLocaleString('en-US')} of ${total.toLocaleString('en-US')}; ${expected.size} hour, day and month counters compared with the file: ${wrong.length === 0 ? 'all equal (each event once)' : `${wrong.length} MISMATCHED (${wrong.slice(0, 5).join(', ')})`}`,
  );
  console.log(`all counted ${counted.toFixed(1)} s after the import began (${Math.round(total / counted)} events/s end to end)`);
  const c = stack.consumer.stats;
  console.log(
    `consumer: ${c.invocations} invocations, ${c.records} messages received (${c.redelivered} redelivered, ${c.failedRecords} failed), busy ${(stack.busyMs('consumer') / 1000).toFixed(1)} s`,
  );
  if (wrong.length > 0) process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
  await stack.stop();
}
