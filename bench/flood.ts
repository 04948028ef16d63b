import { performance } from 'node:perf_hooks';
import { startLocalStack } from '../local/stack.js';
import { seedMeters } from '../shared/metering/seed-meters.js';
import { documentClient } from '../shared/platform/dynamo/client.js';
import { tableName } from '../shared/platform/dynamo/tables.js';
import { DynamoRateLimitStore } from '../shared/tenancy/adapters/rate-limit-store.js';
import { DynamoTenantDirectory } from '../shared/tenancy/adapters/tenant-directory.js';
import { issueApiKey } from '../shared/tenancy/api-keys.js';
import { tenantSubject } from '../shared/tenancy/rate-limits.js';
import { latencies, printTable } from './report.js';

const FLOOD_CLIENTS = 12;
const QUIET_POSTS = 60;

/**
 * `npm run bench -- flood`: what a flooding tenant costs the others. A quiet tenant posts ten-event batches one after
 * another, alone and then while twelve clients flood another tenant held to 5 requests a second; the table gives the
 * quiet tenant's POST latency both ways and what the flood got through. The flood test (tests/tenancy/flood.test.ts)
 * holds the behaviour (every quiet event counted, 429s with their fields, admin routes answering); this measures.
 */
export async function flood() {
  // API Gateway's authorizer cache, as in AWS: a flood's requests reach the route functions without a key lookup each.
  const stack = await startLocalStack({ authorizerCacheTtlMs: 300_000 });
  try {
    const db = documentClient(stack.dynamo);
    const directory = new DynamoTenantDirectory(db, tableName('tenants', stack.env));
    const token = async (tenantId: string) => {
      await directory.createTenant({ id: tenantId, name: tenantId, createdAt: new Date().toISOString() });
      for (const m of seedMeters) await directory.putMeter(tenantId, m);
      return (await issueApiKey(directory, { tenantId }, 'bench', Date.now())).token;
    };
    const [quiet, flooder] = [await token('quiet'), await token('flooder')];
    await new DynamoRateLimitStore(db, tableName('rateLimits', stack.env)).setLimits(tenantSubject('flooder'), { ingest: 5 });

    let serial = 0;
    const post = (key: string, count: number) =>
      fetch(`${stack.apiUrl}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(
          Array.from({ length: count }, () => ({ id: `e-${serial++}`, meter: 'orders', timestamp: new Date().toISOString() })),
        ),
      });
    const quietRun = async () => {
      const samples: number[] = [];
      for (let i = 0; i < QUIET_POSTS; i++) {
        const start = performance.now();
        const res = await post(quiet, 10);
        await res.arrayBuffer();
        if (res.status !== 202) throw new Error(`the quiet tenant was answered ${res.status}`);
        samples.push(performance.now() - start);
      }
      return samples;
    };
    const row = (name: string, samples: number[], flood = { accepted: 0, refused: 0 }) => {
      const { p50, p99 } = latencies(samples);
      return {
        case: name,
        'quiet POST p50 ms': p50,
        'quiet POST p99 ms': p99,
        'flood accepted': flood.accepted,
        'flood refused': flood.refused,
      };
    };

    const alone = await quietRun();
    await stack.drained();
    let done = false;
    const counts = { accepted: 0, refused: 0 };
    const flooding = Array.from({ length: FLOOD_CLIENTS }, async () => {
      while (!done) {
        const res = await post(flooder, 1);
        await res.arrayBuffer();
        if (res.status === 202) counts.accepted += 1;
        else counts.refused += 1;
      }
    });
    const underFlood = await quietRun().finally(() => {
      done = true;
    });
    await Promise.all(flooding);
    printTable(`Flood: ${FLOOD_CLIENTS} clients flood a tenant held to 5 requests/s; a quiet tenant posts ${QUIET_POSTS} batches of 10`, [
      row('quiet tenant alone', alone),
      row('quiet tenant during the flood', underFlood, counts),
    ]);
  } finally {
    await stack.stop();
  }
}
