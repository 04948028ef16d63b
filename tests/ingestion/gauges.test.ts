import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { Dec } from '../../shared/kernel/decimal.js';
import { periodStart } from '../../shared/kernel/periods.js';
import type { Meter } from '../../shared/metering/meters.js';
import { api, createAdminKey, createTenant, startTestStack } from '../support/stack.js';

/**
 * AVG, MIN and TIME_WEIGHTED meters through the real path: ingest, the queue, the consumer's fold into DynamoDB (the
 * readings as items), the usage routes, corrections through the API, and the meter admin route's validation.
 */
const HOUR = 3_600_000;
const meters: Meter[] = [
  { key: 'latency', name: 'Latency', unit: 'ms', aggregation: 'AVG', groupBy: ['region'] },
  { key: 'low', name: 'Low water', unit: 'm', aggregation: 'MIN', groupBy: [] },
  { key: 'gpus', name: 'GPUs', unit: 'GPU', aggregation: 'TIME_WEIGHTED', per: 'hour', groupBy: [] },
];

describe('gauge meters on the local stack', () => {
  let stack: LocalStack;
  let key: string;
  let admin: string;
  // Five whole hours ago: every reading is in the past, and after the last one (0 GPUs) the integral stops growing.
  const h0 = periodStart('hour', Date.now()) - 5 * HOUR;
  const at = (hours: number) => new Date(h0 + hours * HOUR).toISOString();
  const post = async (events: unknown[]) => {
    const res = await api(stack, 'POST', '/v1/events', key, events);
    expect(res.status).toBe(202);
    expect(res.body.rejected).toBe(0);
  };
  const gpuHours = async (from = at(0), to = at(5)) => {
    const res = await api(stack, 'GET', `/v1/usage?meter=gpus&granularity=hour&from=${from}&to=${to}`, key);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.unit).toBe('GPU-hour');
    return res.body.data as { periodStart: string; value: string; events: number }[];
  };
  const total = (buckets: { value: string }[]) => buckets.reduce((s, b) => s.plus(b.value), new Dec(0)).toFixed();

  beforeAll(async () => {
    stack = await startTestStack();
    key = await createTenant(stack, 'gauges', meters);
    admin = await createAdminKey(stack);
  });
  afterAll(() => stack?.stop());

  it('integrate readings folded out of order and late, and corrected through the API', async () => {
    // Sent in three requests, the latest reading first.
    await post([{ id: 'g-3', meter: 'gpus', timestamp: at(3), value: 2 }]);
    await post([
      { id: 'g-end', meter: 'gpus', timestamp: at(4), value: 0 },
      { id: 'g-0', meter: 'gpus', timestamp: at(0), value: 4 },
    ]);
    await post([{ id: 'g-1', meter: 'gpus', timestamp: at(1.5), value: 8 }]);
    await stack.drained();
    // 4 × 1.5 + 8 × 1.5 + 2 × 1 = 20 GPU-hours; the second hour holds 4 × 0.5 + 8 × 0.5 = 6.
    let buckets = await gpuHours();
    expect(buckets.map((b) => b.value)).toEqual(['4', '6', '8', '2', '0']);
    expect(total(buckets)).toBe('20');
    // A range starting later carries the level in: 8 GPUs through hour 2.
    expect((await gpuHours(at(2), at(3))).map((b) => b.value)).toEqual(['8']);

    // A late reading (1 GPU from hour 2): 4 × 1.5 + 8 × 0.5 + 1 × 1 + 2 × 1 = 13.
    await post([{ id: 'g-2', meter: 'gpus', timestamp: at(2), value: 1 }]);
    await stack.drained();
    expect(total(await gpuHours())).toBe('13');

    // Corrected: the 8 never happened (4 holds until the 1), then the 2 was 6: 4 × 2 + 1 × 1 + 6 × 1 = 15.
    expect(await api(stack, 'POST', '/v1/events/g-1/corrections', key, { correctionId: 'fix-1', action: 'void' })).toMatchObject({
      status: 201,
    });
    expect(
      await api(stack, 'POST', '/v1/events/g-3/corrections', key, { correctionId: 'fix-2', action: 'replace', value: 6 }),
    ).toMatchObject({ status: 201 });
    buckets = await gpuHours();
    expect(total(buckets)).toBe('15');
    expect(buckets.reduce((n, b) => n + b.events, 0)).toBe(4);
  });

  it('keep AVG exact and MIN the smallest, by group, and refuse correcting a MIN', async () => {
    await post([
      { id: 'l-1', meter: 'latency', timestamp: at(1), value: 10, properties: { region: 'eu' } },
      { id: 'l-2', meter: 'latency', timestamp: at(1.2), value: 20, properties: { region: 'us' } },
      { id: 'l-3', meter: 'latency', timestamp: at(1.4), value: '35.5', properties: { region: 'eu' } },
      { id: 'm-1', meter: 'low', timestamp: at(1), value: 7 },
      { id: 'm-2', meter: 'low', timestamp: at(1.5), value: '3.25' },
    ]);
    await stack.drained();
    const hour = async (meter: string, extra = '') =>
      (await api(stack, 'GET', `/v1/usage?meter=${meter}&granularity=hour&from=${at(1)}&to=${at(2)}${extra}`, key)).body;
    // (10 + 20 + 35.5) / 3 = 21.833333; eu (10 + 35.5) / 2 = 22.75, us 20.
    const latency = await hour('latency', '&groupBy=region');
    expect(latency.data[0].value).toBe('21.833333');
    expect(
      Object.fromEntries(latency.groups.map((g: { value: string; data: { value: string }[] }) => [g.value, g.data[0]!.value])),
    ).toEqual({
      eu: '22.75',
      us: '20',
    });
    // Corrected: 35.5 was 5.5: (10 + 20 + 5.5) / 3 = 11.833333.
    expect(
      await api(stack, 'POST', '/v1/events/l-3/corrections', key, { correctionId: 'fix-3', action: 'replace', value: '5.5' }),
    ).toMatchObject({ status: 201 });
    expect((await hour('latency')).data[0].value).toBe('11.833333');
    expect((await hour('low')).data[0].value).toBe('3.25');
    expect(await api(stack, 'POST', '/v1/events/m-2/corrections', key, { correctionId: 'fix-4', action: 'void' })).toMatchObject({
      status: 409,
      body: { code: 'CONFLICT', field: 'meter' },
    });
  });

  it('accept the new meters on the admin route, and answer a missing or stray `per` with a 400 naming it', async () => {
    const put = (meter: string, body: object) => api(stack, 'PUT', `/v1/admin/tenants/gauges/meters/${meter}`, admin, body);
    expect(await put('seats_held', { name: 'Seats', unit: 'seat', aggregation: 'TIME_WEIGHTED', per: 'day' })).toMatchObject({
      status: 201,
      body: { per: 'day' },
    });
    expect(await put('gpu_time', { name: 'GPU', unit: 'GPU', aggregation: 'TIME_WEIGHTED' })).toMatchObject({
      status: 400,
      body: { code: 'INVALID_REQUEST', field: 'per' },
    });
    expect(await put('mean', { name: 'Mean', unit: 'ms', aggregation: 'AVG', per: 'hour' })).toMatchObject({
      status: 400,
      body: { field: 'per' },
    });
    expect(await put('seats_held', { name: 'Seats', unit: 'seat', aggregation: 'TIME_WEIGHTED', per: 'hour' })).toMatchObject({
      status: 409,
      body: { code: 'CONFLICT' },
    });
  });
});
