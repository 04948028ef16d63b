import { DeleteItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { Dec } from '../../shared/kernel/decimal.js';
import { periodKey } from '../../shared/kernel/periods.js';
import { DynamoCounterReader } from '../../shared/metering/adapters/counter-reader.js';
import type { Meter } from '../../shared/metering/meters.js';
import type { RecomputeJob } from '../../shared/metering/recompute-job.js';
import { documentClient } from '../../shared/platform/dynamo/client.js';
import { api, createAdminKey, createTenant, startTestStack } from '../support/stack.js';

/**
 * Recompute on the local stack: counters of three aggregations corrupted by writing to them directly, found as
 * exactly those drifts and repaired, while events keep arriving for the same tenant and meters.
 */
const meters: Meter[] = [
  { key: 'tokens', name: 'Tokens', unit: 'token', aggregation: 'SUM', groupBy: ['model'] },
  { key: 'peak', name: 'Peak', unit: 'GB', aggregation: 'MAX', groupBy: [] },
  { key: 'seats', name: 'Seats', unit: 'user', aggregation: 'UNIQUE_COUNT', valueProperty: 'user_id', groupBy: [] },
  { key: 'storage_gb', name: 'Storage', unit: 'GB', aggregation: 'LATEST', groupBy: [] },
];
const DAY = 86_400_000;

describe('recompute', () => {
  let stack: LocalStack;
  let admin: string;
  let key: string;
  let counters: DynamoCounterReader;
  // Noon yesterday: the seeded events (two hours of them) stay inside one day.
  const yesterday = Math.floor((Date.now() - DAY) / DAY) * DAY + DAY / 2;
  const day = periodKey('day', yesterday);
  const hour = periodKey('hour', yesterday);
  let tokensTruth = new Dec(0);

  const post = async (events: object[]) => {
    const r = await api(stack, 'POST', '/v1/events', key, events);
    expect(r.status).toBe(202);
    expect(r.body.rejected).toBe(0);
  };
  const at = (offset: number) => new Date(yesterday + offset).toISOString();

  /** Starts a job, runs the worker and waits for the job to finish. */
  const recompute = async (body: object): Promise<RecomputeJob> => {
    const started = await api(stack, 'POST', '/v1/admin/tenants/acme/recompute', admin, body);
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ status: 'queued', tenantId: 'acme' });
    await stack.runSchedule('recompute-worker');
    for (let i = 0; i < 600; i++) {
      const r = await api(stack, 'GET', `/v1/admin/recompute/${started.body.jobId}`, admin);
      expect(r.status).toBe(200);
      if (r.body.status === 'succeeded' || r.body.status === 'failed') return r.body;
      await new Promise((done) => setTimeout(done, 100));
    }
    throw new Error('the recompute job did not finish');
  };

  beforeAll(async () => {
    stack = await startTestStack();
    stack.stripe?.setWebhook(undefined);
    admin = await createAdminKey(stack);
    key = await createTenant(stack, 'acme', meters);
    counters = new DynamoCounterReader(documentClient(stack.dynamo), stack.env.COUNTERS_TABLE!);
    const events: object[] = [];
    for (let i = 0; i < 120; i++) {
      const value = new Dec(i % 9).plus('0.25');
      tokensTruth = tokensTruth.plus(value);
      events.push({
        id: `t-${i}`,
        meter: 'tokens',
        timestamp: at(-i * 60_000),
        value: value.toFixed(),
        properties: { model: `m${i % 3}` },
      });
      events.push({ id: `p-${i}`, meter: 'peak', timestamp: at(-i * 60_000), value: (i * 7) % 50 });
      events.push({ id: `s-${i}`, meter: 'seats', timestamp: at(-i * 60_000), properties: { user_id: `u${i % 11}` } });
      events.push({ id: `g-${i}`, meter: 'storage_gb', timestamp: at(-i * 60_000), value: 10 + (i % 4) });
    }
    for (let i = 0; i < events.length; i += 200) await post(events.slice(i, i + 200));
    await stack.drained();
  }, 120_000);

  afterAll(() => stack?.stop());

  it('finds exactly the corrupted counters and repairs them while ingestion goes on', async () => {
    const clean = await recompute({ from: new Date(yesterday - 3 * DAY).toISOString() });
    expect(clean.drifts).toEqual([]);
    expect(clean.progress).toMatchObject({ phase: 'done', eventsRead: 480, driftsFound: 0 });
    expect(clean.progress.countersCompared).toBeGreaterThan(20);

    // Corrupt three counters by writing to them directly, as a bug or an operator's mistake would.
    const db = stack.dynamo;
    const table = stack.env.COUNTERS_TABLE!;
    await db.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { pk: { S: 'acme#tokens' }, sk: { S: `day##${day}` } },
        UpdateExpression: 'ADD #v :seven',
        ExpressionAttributeNames: { '#v': 'value' },
        ExpressionAttributeValues: { ':seven': { N: '7' } },
      }),
    );
    await db.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { pk: { S: 'acme#peak' }, sk: { S: `hour##${hour}` } },
        UpdateExpression: 'SET #v = :v',
        ExpressionAttributeNames: { '#v': 'value' },
        ExpressionAttributeValues: { ':v': { N: '999' } },
      }),
    );
    await db.send(new DeleteItemCommand({ TableName: table, Key: { pk: { S: 'acme#seats' }, sk: { S: `unique#day##${day}#u3` } } }));

    // Events keep arriving for the same tenant and meters (this hour) while the jobs run.
    let running = true;
    let concurrent = 0;
    const ingestion = (async () => {
      for (let batch = 0; running; batch++) {
        const events = Array.from({ length: 20 }, (_, i) => ({
          id: `live-${batch}-${i}`,
          meter: 'tokens',
          timestamp: new Date().toISOString(),
          value: '1.5',
          properties: { model: 'm1' },
        }));
        await post(events);
        concurrent += events.length;
        await new Promise((done) => setTimeout(done, 50));
      }
    })();

    const found = await recompute({});
    const drifts = found.drifts.map((d) => `${d.meter} ${d.granularity} ${d.period} ${d.group}`).sort();
    expect(drifts).toEqual([`peak hour ${hour} `, `seats day ${day} `, `tokens day ${day} `]);
    const tokens = found.drifts.find((d) => d.meter === 'tokens')!;
    expect(new Dec(tokens.actual.value!).minus(tokens.expected.value!).toFixed()).toBe('7');
    expect(found.drifts.find((d) => d.meter === 'seats')).toMatchObject({ missingMarkers: ['u3'], expected: { value: '11' } });
    expect(found.drifts.find((d) => d.meter === 'peak')!.actual.value).toBe('999');
    expect(found.progress).toMatchObject({ driftsFound: 3, driftsRepaired: 0 });

    const repaired = await recompute({ repair: true });
    expect(repaired.drifts.map((d) => d.repair)).toEqual(['repaired', 'repaired', 'repaired']);
    expect(repaired.progress).toMatchObject({ driftsFound: 3, driftsRepaired: 3, repairConflicts: 0 });

    running = false;
    await ingestion;
    await stack.drained();
    const after = await recompute({});
    expect(after.drifts).toEqual([]);
    expect(after.progress.countersChanging).toBe(0);

    // Nothing folded meanwhile was lost: the day and month hold the seeded events and every concurrent one.
    const [seeded] = await counters.series('acme', 'tokens', 'day', day, day);
    expect(new Dec(seeded!.value).toFixed()).toBe(tokensTruth.toFixed());
    const today = periodKey('day', Date.now());
    const [live] = await counters.series('acme', 'tokens', 'day', today, today);
    const expectedToday = new Dec(concurrent).times('1.5').plus(today === day ? tokensTruth : 0);
    expect(new Dec(live?.value ?? 0).toFixed()).toBe(expectedToday.toFixed());
    expect(concurrent).toBeGreaterThan(0);
  }, 300_000);

  it('answers bad requests with a code and a field, and unknown jobs with 404', async () => {
    expect(await api(stack, 'POST', '/v1/admin/tenants/acme/recompute', admin, { meter: 'nope' })).toMatchObject({
      status: 404,
      body: { code: 'NOT_FOUND', field: 'meter' },
    });
    expect(await api(stack, 'POST', '/v1/admin/tenants/ghost/recompute', admin, {})).toMatchObject({ status: 404 });
    expect(await api(stack, 'POST', '/v1/admin/tenants/acme/recompute', admin, { repair: 'yes' })).toMatchObject({
      status: 400,
      body: { code: 'INVALID_REQUEST', field: 'repair' },
    });
    expect(await api(stack, 'GET', '/v1/admin/recompute/nope', admin)).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    expect(await api(stack, 'POST', '/v1/admin/tenants/acme/recompute', key, {})).toMatchObject({ status: 403 });
  });
});
