import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { queryUsage } from '../../local/usage-sql.js';
import { Dec } from '../../shared/kernel/decimal.js';
import { DynamoCounterReader } from '../../shared/metering/adapters/counter-reader.js';
import { DynamoUsageWriter } from '../../shared/metering/adapters/usage-writer.js';
import type { UsageEvent } from '../../shared/metering/events.js';
import type { Meter } from '../../shared/metering/meters.js';
import { seedMeters } from '../../shared/metering/seed-meters.js';
import type { ExportOutcome } from '../../shared/metering/usage-export.js';
import { documentClient } from '../../shared/platform/dynamo/client.js';
import { api, createTenant, startTestStack } from '../support/stack.js';

const tokens: Meter = { key: 'tokens', name: 'Tokens', unit: 'token', aggregation: 'SUM', valueProperty: 'tokens', groupBy: [] };
const meters = [...seedMeters, tokens];
const month = Date.UTC(2026, 10, 1);
const days = 30;

/** A month of events for a tenant: orders (COUNT), tokens (SUM, twelve fraction digits) and seats (UNIQUE_COUNT). */
function generatedMonth(tenantId: string, perDay: number): UsageEvent[] {
  const events: UsageEvent[] = [];
  let n = 0;
  for (let day = 0; day < days; day++) {
    for (let i = 0; i < perDay; i++) {
      const at = new Date(month + day * 86_400_000 + ((i * 7919) % 86_400) * 1000).toISOString();
      const base = { tenantId, timestamp: at, groupKey: '', payloadHash: `h${n}`, receivedAt: at };
      events.push({
        ...base,
        id: `o-${n}`,
        meter: 'orders',
        aggregation: 'COUNT',
        value: '1',
        properties: `{"route":"${i % 2 ? 'eu' : 'us'}"}`,
      });
      events.push({
        ...base,
        id: `t-${n}`,
        meter: 'tokens',
        aggregation: 'SUM',
        value: `${n % 97}.${String(n * 7919)
          .padStart(12, '0')
          .slice(-12)}`,
      });
      events.push({ ...base, id: `s-${n}`, meter: 'seats', aggregation: 'UNIQUE_COUNT', value: `user-${n % 13}` });
      n++;
    }
  }
  return events;
}

function snapshot(dir: string): Record<string, string> {
  const files = readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.parquet'));
  return Object.fromEntries(
    files.map((f) => [
      f,
      createHash('sha256')
        .update(readFileSync(join(dir, f)))
        .digest('hex'),
    ]),
  );
}

describe('the Parquet export on the local stack', () => {
  let stack: LocalStack;
  let counters: DynamoCounterReader;
  let alphaKey: string;
  let dir: string;
  // The ledger stamps events with the clock when it counts them; runs are due after that.
  const run = (afterMs = 1000) => stack.runSchedule('usage-export', new Date(Date.now() + afterMs)) as Promise<ExportOutcome>;
  const sql = (q: string) => queryUsage(dir, q);

  beforeAll(async () => {
    stack = await startTestStack();
    dir = stack.env.EXPORT_DIR!;
    alphaKey = await createTenant(stack, 'alpha', meters);
    await createTenant(stack, 'beta', meters);
    const writer = new DynamoUsageWriter(documentClient(stack.dynamo), {
      eventsTable: stack.env.EVENTS_TABLE!,
      countersTable: stack.env.COUNTERS_TABLE!,
      ledgerRetentionDays: 40,
    });
    counters = new DynamoCounterReader(documentClient(stack.dynamo), stack.env.COUNTERS_TABLE!);
    const events = [...generatedMonth('alpha', 12), ...generatedMonth('beta', 5)];
    for (let i = 0; i < events.length; i += 100) {
      const outcome = await writer.commit([{ id: `m-${i}`, events: events.slice(i, i + 100) }]);
      expect(outcome.failed).toEqual([]);
    }
  }, 300_000);
  afterAll(async () => {
    await stack?.stop();
    // A stack started without a state directory keeps its export in a directory of its own, which goes when it stops.
    expect(existsSync(dirname(dir))).toBe(false);
  });

  /** Count and exact sum per tenant × meter × day, from the files and from the day counters. */
  async function compareWithCounters() {
    const rows = await sql(
      `SELECT tenant, meter, day, count(*)::VARCHAR AS events, coalesce(sum(value), 0)::VARCHAR AS total FROM usage
       WHERE meter IN ('orders', 'tokens') GROUP BY ALL ORDER BY ALL`,
    );
    const fromCounters: Record<string, unknown>[] = [];
    for (const tenant of ['alpha', 'beta'])
      for (const meter of ['orders', 'tokens'])
        for (const c of await counters.series(tenant, meter, 'day', '2026-11-01', '2026-11-30'))
          fromCounters.push({ tenant, meter, day: c.period, events: String(c.events), total: new Dec(c.value).toFixed(12) });
    expect(rows).toEqual(fromCounters);
    return rows.length;
  }

  it('writes a month of events as Parquet equal to the ledger, count and exact sum per tenant × meter × day', async () => {
    const outcome = await run();
    expect(outcome).toMatchObject({ partitions: 60, rows: (12 + 5) * days * 3, files: 60 });
    expect(await compareWithCounters()).toBe(2 * 2 * days);
    // Distinct values are kept as text, properties as sent, one prefix per tenant.
    expect(
      await sql(`SELECT count(DISTINCT distinct_value)::VARCHAR AS users FROM usage WHERE tenant = 'alpha' AND meter = 'seats'`),
    ).toEqual([{ users: '13' }]);
    expect(
      await sql(`SELECT count(*)::VARCHAR AS eu FROM usage WHERE tenant = 'alpha' AND json_extract_string(properties, '$.route') = 'eu'`),
    ).toEqual([{ eu: String(6 * days) }]);
    expect(readdirSync(join(dir, 'usage')).sort()).toEqual(['tenant=alpha', 'tenant=beta']);
  });

  it('adds nothing when run again, and writes the same files when a run is repeated from the start', async () => {
    const before = snapshot(dir);
    expect(await run(0)).toMatchObject({ partitions: 0, rows: 0 });
    expect(await run(2000)).toMatchObject({ partitions: 0, rows: 0 });
    expect(snapshot(dir)).toEqual(before);
    // A run that failed before recording its progress is run again whole: the same files, byte for byte.
    rmSync(join(dir, 'state'), { recursive: true });
    expect(await run(0)).toMatchObject({ partitions: 60 });
    expect(snapshot(dir)).toEqual(before);
  });

  it('shows a correction and leaves a voided event out, in the partition it belongs to', async () => {
    const replaced = await api(stack, 'POST', '/v1/events/t-0/corrections', alphaKey, {
      correctionId: 'c-1',
      action: 'replace',
      value: '1000.5',
    });
    expect(replaced.status).toBe(201);
    expect((await api(stack, 'POST', '/v1/events/o-1/corrections', alphaKey, { correctionId: 'c-2', action: 'void' })).status).toBe(201);
    const outcome = await run(0);
    expect(outcome).toMatchObject({ partitions: 1 });
    expect(
      await sql(
        `SELECT value::VARCHAR AS value, corrected_at IS NOT NULL AS corrected FROM usage WHERE tenant = 'alpha' AND event_id = 't-0'`,
      ),
    ).toEqual([{ value: '1000.500000000000', corrected: true }]);
    expect(await sql(`SELECT count(*)::VARCHAR AS n FROM usage WHERE tenant = 'alpha' AND event_id = 'o-1'`)).toEqual([{ n: '0' }]);
    await compareWithCounters();
  });

  it('answers the same totals as GET /v1/usage/current for what the API took this month', async () => {
    const key = await createTenant(stack, 'gamma', meters);
    const now = new Date().toISOString();
    const events = [
      ...Array.from({ length: 25 }, (_, i) => ({ id: `g-o-${i}`, meter: 'orders', timestamp: now })),
      ...Array.from({ length: 10 }, (_, i) => ({ id: `g-t-${i}`, meter: 'tokens', timestamp: now, properties: { tokens: `${i}.125` } })),
    ];
    expect((await api(stack, 'POST', '/v1/events', key, events)).status).toBe(202);
    await stack.drained();
    await run(0);
    const rows = await sql(
      "SELECT meter, count(*)::VARCHAR AS events, sum(value)::VARCHAR AS total FROM usage WHERE tenant = 'gamma' GROUP BY meter ORDER BY meter",
    );
    const current = (await api(stack, 'GET', '/v1/usage/current', key)).body as {
      meters: { meter: string; value: string; events: number }[];
    };
    const counted = current.meters.filter((m) => m.events > 0).sort((a, b) => a.meter.localeCompare(b.meter));
    expect(rows).toEqual(counted.map((m) => ({ meter: m.meter, events: String(m.events), total: new Dec(m.value).toFixed(12) })));
  });
});
