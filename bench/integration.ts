import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Meterline } from '../clients/node/src/index.js';
import { startDynamoDbLocal } from '../local/dynamodb-local.js';
import { startSqsLocal } from '../local/sqs-local.js';
import { startLocalStack } from '../local/stack.js';
import { seedMeters } from '../shared/metering/seed-meters.js';
import { documentClient } from '../shared/platform/dynamo/client.js';
import { DynamoTenantDirectory } from '../shared/tenancy/adapters/tenant-directory.js';
import { issueApiKey } from '../shared/tenancy/api-keys.js';
import { printTable } from './report.js';

/** Seed 2's ceiling for what usage tracking may add to a request. */
const CEILING_MS = 10;

/**
 * What the metering middleware adds to a request (a middy handler in process, the quota checked from its
 * cache, the event handed to the client's buffer), with Meterline answering (for a prepaid tenant too, whose
 * credit standing rides in the same cached answer) and unreachable; and how many
 * events one core of the client batches and serializes per second.
 */
export async function integration() {
  const dynamo = await startDynamoDbLocal();
  const sqs = await startSqsLocal();
  const stack = await startLocalStack({ dynamoEndpoint: dynamo.endpoint, sqsEndpoint: sqs.endpoint });
  try {
    const directory = new DynamoTenantDirectory(documentClient(stack.dynamo), stack.env.TENANTS_TABLE!);
    await directory.createTenant({ id: 'bench', name: 'bench', createdAt: new Date().toISOString() });
    for (const meter of seedMeters) await directory.putMeter('bench', meter);
    const admin = (await issueApiKey(directory, { admin: true }, 'bench', Date.now())).token;
    await fetch(`${stack.apiUrl}/v1/admin/tenants/bench/quotas/api_calls`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: '{"limit":"1000000000"}',
    });
    // A tenant on prepaid-only terms: its quota checks carry its credit standing, priced from its open period.
    await directory.createTenant({ id: 'bench-prepaid', name: 'bench-prepaid', createdAt: new Date().toISOString() });
    for (const meter of seedMeters) await directory.putMeter('bench-prepaid', meter);
    const adminCall = (path: string, body: object) =>
      fetch(`${stack.apiUrl}${path}`, {
        method: path.endsWith('subscription') ? 'PUT' : 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    await adminCall('/v1/admin/tenants/bench-prepaid/subscription', { planId: 'base-199', prepaid: { overdraft: '0' } });
    await adminCall('/v1/admin/tenants/bench-prepaid/credits', { amount: '1000000000', source: 'manual' });
    const service = (await issueApiKey(directory, { service: true }, 'bench', Date.now())).token;
    const readKeys: Record<string, string> = {};
    for (const tenantId of ['bench', 'bench-prepaid'])
      readKeys[tenantId] = (await issueApiKey(directory, { tenantId }, 'bench reads', Date.now())).token;

    // The product's function runs in a process of its own, as in Lambda: this one hosts Meterline (its API, consumer
    // and their garbage), which would otherwise share the function's event loop and heap.
    const rows = await productFunction(stack.apiUrl, service, readKeys);
    const bare = rows[0]!;
    printTable(
      `Metering middleware per request (in the product function's own process, quota checked from its cache; seed 2's ceiling: ${CEILING_MS} ms = ${CEILING_MS * 1000} µs)`,
      rows.map((r) => ({
        case: r.case,
        'p50 µs': Math.round(r.p50),
        'p99 µs': Math.round(r.p99),
        'p50 overhead µs': Math.round(r.p50 - bare.p50),
        'preempted samples': `${r.preempted} of ${r.samples}`,
      })),
    );

    // The client alone: track() + batching + JSON, with a transport that answers at once.
    const total = 200_000;
    const instant: typeof fetch = async (_url, init) => {
      const sent = JSON.parse(String(init?.body)) as unknown[];
      const results = sent.map((_, index) => ({ index, status: 'accepted' }));
      return new Response(JSON.stringify({ accepted: sent.length, duplicates: 0, rejected: 0, failed: 0, results }), { status: 202 });
    };
    const client = new Meterline({ apiKey: 'k', baseUrl: 'http://meterline.invalid', fetch: instant, maxBufferedEvents: total });
    const started = performance.now();
    const cpu = process.cpuUsage();
    for (let i = 0; i < total; i++)
      client.track({ meter: 'api_calls', tenant: 'bench', properties: { route: 'GET /things/{id}', status: 200 } });
    await client.flush();
    const used = process.cpuUsage(cpu);
    const seconds = (performance.now() - started) / 1000;
    printTable('Client throughput (track, batch, serialize; transport answers at once)', [
      {
        events: total,
        'events/s': Math.round(total / seconds),
        'events/s per core (CPU time)': Math.round(total / ((used.user + used.system) / 1e6)),
        'µs per track()': Math.round(((seconds * 1e6) / total) * 100) / 100,
      },
    ]);
  } finally {
    await stack.stop();
    await sqs.stop();
    await dynamo.stop();
  }
}

/** A row of the product function's: its times, and how many samples the kernel took the CPU from (another process ran). */
type Row = { case: string; p50: number; p99: number; preempted: number; samples: number };

/** Runs bench/product-function.ts in a child process against Meterline at `apiUrl`; its rows, printed as JSON. */
async function productFunction(apiUrl: string, apiKey: string, readKeys: Record<string, string>): Promise<Row[]> {
  const child = spawn(process.execPath, [...process.execArgv, join(import.meta.dirname, 'product-function.ts')], {
    env: { ...process.env, METERLINE_API_URL: apiUrl, METERLINE_API_KEY: apiKey, METERLINE_READ_KEYS: JSON.stringify(readKeys) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((done) => child.once('exit', done));
  if (code !== 0) throw new Error(`the product function's process exited ${code}`);
  return JSON.parse(out.trim().split('\n').at(-1)!) as Row[];
}
