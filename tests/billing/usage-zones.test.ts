import { describe, expect, it } from 'vitest';
import { createUsageApi } from '../../functions/usage/usage.js';
import { httpEvent } from '../../local/http-event.js';
import { lambdaContext } from '../../local/lambda.js';
import type { ZoneChange } from '../../shared/kernel/zones.js';
import type { Meter } from '../../shared/metering/meters.js';
import type { Reading } from '../../shared/metering/ports.js';
import { counterReads, meters, TENANT, type Use, usageEvents } from './time-zone-world.js';

/*
 * `GET /v1/usage` and `GET /v1/usage/current` for tenants whose subscription is in Sydney (the day DST ends, 2026-04-05
 * 03:00 AEDT, lasts 25 hours) and in Kathmandu (+05:45 all year). Every bucket below is worked out by hand.
 */

const t = (s: string) => Date.parse(s);

/** A TIME_WEIGHTED gauge the API integrates from its readings (`readings` below), per hour. */
const gpus: Meter = { key: 'gpus', name: 'GPUs', unit: 'GPU', aggregation: 'TIME_WEIGHTED', per: 'hour', groupBy: [] };

function api(timeZone: string, uses: Use[], now: string, readings: Reading[] = []) {
  const counters = counterReads(usageEvents(uses));
  const timeZones: ZoneChange[] = [{ from: new Date(0).toISOString(), timeZone }];
  const handler = createUsageApi({
    meters: async () => [...meters, gpus],
    // The world folds the meter totals only (group ""), which is all these series read.
    series: async (tenantId, meter, granularity, from, to) => counters.values(tenantId, meter, granularity, from, to),
    groupKeys: async () => [],
    readings: async (_tenant, _meter, from) => [
      {
        groupKey: '',
        readings: readings.filter((r) => Date.parse(r.at) >= from),
        before: readings.filter((r) => Date.parse(r.at) < from).at(-1),
      },
    ],
    distinctValues: (tenantId, meter, ranges) => counters.distinctValues(tenantId, meter, ranges),
    timeZones: async () => timeZones,
    now: () => t(now),
  });
  return async (routeKey: string, query?: Record<string, string>) => {
    const res = await handler(httpEvent({ routeKey, tenantId: TENANT, ...(query ? { query } : {}) }), lambdaContext('usage'));
    expect(res.statusCode).toBe(200);
    return JSON.parse(res.body as string);
  };
}

const buckets = (series: { data: { periodStart: string; periodEnd: string; value: string | null }[] }) =>
  series.data.map((b) => [b.periodStart, b.periodEnd, b.value]);

describe('a Sydney tenant: daily buckets are local days, the day DST ends 25 hours long', () => {
  const uses: Use[] = [
    { meter: 'orders', at: '2026-04-03T12:59:00Z' }, // Apr 3 23:59 AEDT
    { meter: 'orders', at: '2026-04-03T13:00:00Z' }, // Apr 4 00:00 AEDT
    { meter: 'orders', at: '2026-04-04T12:59:00Z' }, // Apr 4 23:59 AEDT
    { meter: 'orders', at: '2026-04-04T13:00:00Z' }, // Apr 5 00:00 AEDT
    { meter: 'orders', at: '2026-04-05T13:59:00Z' }, // Apr 5 23:59 AEST, the day's 25th hour
    { meter: 'orders', at: '2026-04-05T14:00:00Z' }, // Apr 6 00:00 AEST
    { meter: 'gpu_hours', at: '2026-04-04T13:00:00Z', value: '0.1' }, // Apr 5 00:00 AEDT
    { meter: 'gpu_hours', at: '2026-04-05T13:59:59.999Z', value: '0.2' }, // Apr 5 23:59:59.999 AEST
    { meter: 'peak', at: '2026-04-04T12:00:00Z', value: '7' }, // Apr 4 23:00 AEDT
    { meter: 'peak', at: '2026-04-04T14:00:00Z', value: '3' }, // Apr 5 01:00 AEDT
  ];
  const get = api('Australia/Sydney', uses, '2026-04-20T00:00:00Z');
  const range = { from: '2026-04-04T00:00:00+11:00', to: '2026-04-07T00:00:00+10:00' };

  it('counts Apr 4 (24 h), Apr 5 (25 h) and Apr 6 from their local midnights', async () => {
    const series = await get('GET /v1/usage', { meter: 'orders', granularity: 'day', ...range });
    expect(series.timeZone).toBe('Australia/Sydney');
    expect(buckets(series)).toEqual([
      ['2026-04-03T13:00:00.000Z', '2026-04-04T13:00:00.000Z', '2'],
      ['2026-04-04T13:00:00.000Z', '2026-04-05T14:00:00.000Z', '2'],
      ['2026-04-05T14:00:00.000Z', '2026-04-06T14:00:00.000Z', '1'],
    ]);
  });

  it('adds decimal quantities exactly and takes a MAX over the local day only', async () => {
    const gpu = await get('GET /v1/usage', { meter: 'gpu_hours', granularity: 'day', ...range });
    expect(gpu.data.map((b: { value: string }) => b.value)).toEqual(['0', '0.3', '0']);
    // UTC's Apr 4 holds both readings (7 and 3); Sydney's Apr 4 only the 7, its Apr 5 only the 3.
    const peak = await get('GET /v1/usage', { meter: 'peak', granularity: 'day', ...range });
    expect(peak.data.map((b: { value: string | null }) => b.value)).toEqual(['7', '3', null]);
  });

  it('a month bucket is the local April: 30 days and one hour, from Mar 31 13:00 UTC', async () => {
    const month = await get('GET /v1/usage', {
      meter: 'orders',
      granularity: 'month',
      from: '2026-04-10T00:00:00Z',
      to: '2026-04-11T00:00:00Z',
    });
    expect(buckets(month)).toEqual([['2026-03-31T13:00:00.000Z', '2026-04-30T14:00:00.000Z', '6']]);
  });

  it('the current month is the local one', async () => {
    const current = await get('GET /v1/usage/current');
    expect(current.period).toEqual({ start: '2026-03-31T13:00:00.000Z', end: '2026-04-30T14:00:00.000Z', timeZone: 'Australia/Sydney' });
    expect(current.meters.find((m: { meter: string }) => m.meter === 'orders')).toMatchObject({ value: '6', events: 6 });
  });
});

describe('a Kathmandu tenant (+05:45): days start at 18:15 UTC', () => {
  const uses: Use[] = [
    { meter: 'gpu_hours', at: '2026-04-09T18:14:00Z', value: '0.4' }, // Apr 9 23:59 NPT
    { meter: 'gpu_hours', at: '2026-04-09T18:15:00Z', value: '0.1' }, // Apr 10 00:00 NPT
    { meter: 'gpu_hours', at: '2026-04-10T18:14:59Z', value: '0.2' }, // Apr 10 23:59:59 NPT
    { meter: 'gpu_hours', at: '2026-04-10T18:15:00Z', value: '0.3' }, // Apr 11 00:00 NPT
    { meter: 'seats', at: '2026-04-09T18:14:00Z', value: 'ann' }, // Apr 9 NPT
    { meter: 'seats', at: '2026-04-09T20:00:00Z', value: 'ann' }, // Apr 10 01:45 NPT
    { meter: 'seats', at: '2026-04-10T10:00:00Z', value: 'ann' }, // Apr 10 15:45 NPT
    { meter: 'seats', at: '2026-04-10T17:00:00Z', value: 'bob' }, // Apr 10 22:45 NPT
  ];
  const get = api('Asia/Kathmandu', uses, '2026-04-11T00:00:00Z');

  it('by default, the local month so far: Apr 1 to Apr 11, each day from 18:15 UTC', async () => {
    const series = await get('GET /v1/usage', { meter: 'gpu_hours' });
    expect(series.from).toBe('2026-03-31T18:15:00.000Z');
    expect(series.data).toHaveLength(11);
    expect(buckets(series).slice(-3)).toEqual([
      ['2026-04-08T18:15:00.000Z', '2026-04-09T18:15:00.000Z', '0.4'],
      ['2026-04-09T18:15:00.000Z', '2026-04-10T18:15:00.000Z', '0.3'],
      ['2026-04-10T18:15:00.000Z', '2026-04-11T18:15:00.000Z', '0.3'],
    ]);
  });

  it('counts distinct values over the local day, not the sum of its counters', async () => {
    // Apr 10 NPT holds ann twice (two different UTC hours and days) and bob: 2 distinct; its counters add up to 3.
    const series = await get('GET /v1/usage', {
      meter: 'seats',
      granularity: 'day',
      from: '2026-04-09T00:00:00+05:45',
      to: '2026-04-11T00:00:00+05:45',
    });
    expect(buckets(series)).toEqual([
      ['2026-04-08T18:15:00.000Z', '2026-04-09T18:15:00.000Z', '1'],
      ['2026-04-09T18:15:00.000Z', '2026-04-10T18:15:00.000Z', '2'],
    ]);
  });

  it('integrates a gauge over each local day: 2 GPUs from Apr 10 00:00 to 12:00 NPT are 24 GPU-hours of Apr 10', async () => {
    const readings: Reading[] = [
      { at: '2026-04-09T18:15:00.000Z', id: 'r1', value: '2' }, // Apr 10 00:00 NPT
      { at: '2026-04-10T06:15:00.000Z', id: 'r2', value: '0' }, // Apr 10 12:00 NPT
    ];
    const gauge = api('Asia/Kathmandu', [], '2026-04-12T00:00:00Z', readings);
    const series = await gauge('GET /v1/usage', {
      meter: 'gpus',
      granularity: 'day',
      from: '2026-04-09T00:00:00+05:45',
      to: '2026-04-11T00:00:00+05:45',
    });
    expect(series.unit).toBe('GPU-hour');
    expect(buckets(series)).toEqual([
      ['2026-04-08T18:15:00.000Z', '2026-04-09T18:15:00.000Z', '0'],
      ['2026-04-09T18:15:00.000Z', '2026-04-10T18:15:00.000Z', '24'],
    ]);
  });

  it('hours stay UTC hours', async () => {
    const series = await get('GET /v1/usage', {
      meter: 'gpu_hours',
      granularity: 'hour',
      from: '2026-04-09T18:00:00Z',
      to: '2026-04-09T19:00:00Z',
    });
    expect(buckets(series)).toEqual([['2026-04-09T18:00:00.000Z', '2026-04-09T19:00:00.000Z', '0.5']]);
  });
});
