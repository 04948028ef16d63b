import './quiet.js';
import { randomUUID } from 'node:crypto';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { startLocalStack } from '../local/stack.js';
import { chunk } from '../shared/kernel/batching.js';
import { periodKey } from '../shared/kernel/periods.js';
import { DynamoUsageWriter } from '../shared/metering/adapters/usage-writer.js';
import type { UsageEvent } from '../shared/metering/events.js';
import type { RecomputeJob } from '../shared/metering/recompute-job.js';
import { seedMeters } from '../shared/metering/seed-meters.js';
import { documentClient } from '../shared/platform/dynamo/client.js';
import { DynamoTenantDirectory } from '../shared/tenancy/adapters/tenant-directory.js';
import { issueApiKey } from '../shared/tenancy/api-keys.js';
import { printTable } from './report.js';

/**
 * `npm run bench:recompute [events]`: folds events (50,000 by default, over the last 20 days, five meters of four
 * aggregations) into the local stack's ledger and counters as the consumer does, corrupts ten day counters, then times
 * the recompute job through its route and worker: once comparing, once repairing, once more to find nothing left.
 */
const total = Number(process.argv[2] ?? 50_000);
const DAY = 86_400_000;
const stack = await startLocalStack({ consumerConcurrency: 1 });
try {
  const db = documentClient(stack.dynamo);
  const directory = new DynamoTenantDirectory(db, stack.env.TENANTS_TABLE!);
  await directory.createTenant({ id: 'bench', name: 'Bench', createdAt: new Date().toISOString() });
  for (const m of seedMeters) await directory.putMeter('bench', m);
  const admin = (await issueApiKey(directory, { admin: true }, 'bench', Date.now())).token;
  const store = new DynamoUsageWriter(db, {
    eventsTable: stack.env.EVENTS_TABLE!,
    countersTable: stack.env.COUNTERS_TABLE!,
    ledgerRetentionDays: 40,
  });

  const start = Date.now() - 20 * DAY;
  const kinds = [
    { meter: 'orders', aggregation: 'COUNT', value: () => '1', groupKey: () => '' },
    { meter: 'api_calls', aggregation: 'COUNT', value: () => '1', groupKey: () => '' },
    { meter: 'ai_jobs', aggregation: 'COUNT', value: () => '1', groupKey: (i: number) => `job_type=${['summary', 'ocr', 'chat'][i % 3]}` },
    { meter: 'storage_gb', aggregation: 'LATEST', value: (i: number) => String(40 + (i % 17)), groupKey: () => '' },
    { meter: 'seats', aggregation: 'UNIQUE_COUNT', value: (i: number) => `user-${i % 97}`, groupKey: () => '' },
  ] as const;
  const events: UsageEvent[] = Array.from({ length: total }, (_, i) => {
    const kind = kinds[i % kinds.length]!;
    const timestamp = new Date(start + Math.floor((i / total) * 20 * DAY)).toISOString();
    return {
      tenantId: 'bench',
      id: `e-${i}`,
      meter: kind.meter,
      aggregation: kind.aggregation,
      timestamp,
      value: kind.value(i),
      groupKey: kind.groupKey(i),
      payloadHash: `e-${i}`,
      receivedAt: timestamp,
    };
  });
  const folding = performance.now();
  for (const batch of chunk(events, 1_000)) {
    const outcome = await store.commit([{ id: randomUUID(), events: batch }]);
    if (outcome.failed.length > 0) throw new Error(`${outcome.failed.length} events not folded`);
  }
  console.log(`folded ${total.toLocaleString('en-US')} events in ${((performance.now() - folding) / 1000).toFixed(1)} s`);

  const days = Array.from({ length: 10 }, (_, i) => periodKey('day', start + (i + 2) * DAY));
  for (const day of days) {
    await stack.dynamo.send(
      new UpdateItemCommand({
        TableName: stack.env.COUNTERS_TABLE!,
        Key: { pk: { S: 'bench#orders' }, sk: { S: `day##${day}` } },
        UpdateExpression: 'ADD #v :n',
        ExpressionAttributeNames: { '#v': 'value' },
        ExpressionAttributeValues: { ':n': { N: '5' } },
      }),
    );
  }

  const run = async (repair: boolean): Promise<RecomputeJob> => {
    const res = await fetch(`${stack.apiUrl}/v1/admin/tenants/bench/recompute`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ repair }),
    });
    const { jobId } = (await res.json()) as RecomputeJob;
    await stack.runSchedule('recompute-worker');
    for (;;) {
      const job = (await (
        await fetch(`${stack.apiUrl}/v1/admin/recompute/${jobId}`, { headers: { authorization: `Bearer ${admin}` } })
      ).json()) as RecomputeJob;
      if (job.status === 'succeeded' || job.status === 'failed') return job;
      await new Promise((done) => setTimeout(done, 500));
    }
  };
  const rows = [];
  for (const [label, repair] of [
    ['compare', false],
    ['compare and repair', true],
    ['compare again', false],
  ] as const) {
    const job = await run(repair);
    const seconds = (Date.parse(job.finishedAt!) - Date.parse(job.startedAt!)) / 1000;
    rows.push({
      run: label,
      status: job.status,
      'ledger items': job.progress.itemsScanned,
      events: job.progress.eventsRead,
      counters: job.progress.countersCompared,
      drifts: job.progress.driftsFound,
      repaired: job.progress.driftsRepaired,
      seconds: seconds.toFixed(1),
      'events/s': Math.round(job.progress.eventsRead / seconds),
    });
  }
  printTable(`recompute of one tenant (${total.toLocaleString('en-US')} events, 10 day counters corrupted) on the local stack`, rows);
  const [found, repaired, again] = rows;
  if (found!.drifts !== days.length || repaired!.repaired !== days.length || again!.drifts !== 0) process.exitCode = 1;
} finally {
  await stack.stop();
}
