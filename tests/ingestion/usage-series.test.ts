import { describe, expect, it } from 'vitest';
import { createUsageApi } from '../../functions/usage/usage.js';
import { httpEvent } from '../../local/http-event.js';
import { lambdaContext } from '../../local/lambda.js';
import type { Meter } from '../../shared/metering/meters.js';
import type { CounterRow } from '../../shared/metering/ports.js';

/**
 * `GET /v1/usage` over counters given by hand, per group key and day (a UTC tenant): its refusals, and series
 * per value of a group-by property, the combinations sharing a value added up.
 */
const meters: Meter[] = [
  { key: 'jobs', name: 'Jobs', unit: 'job', aggregation: 'SUM', groupBy: ['job_type', 'model'] },
  { key: 'peak', name: 'Peak', unit: 'GB', aggregation: 'MAX', groupBy: ['job_type', 'model'] },
  { key: 'calls', name: 'Calls', unit: 'call', aggregation: 'COUNT', groupBy: [] },
  { key: 'latency', name: 'Latency', unit: 'ms', aggregation: 'AVG', groupBy: [] },
  { key: 'users', name: 'Users', unit: 'user', aggregation: 'UNIQUE_COUNT', valueProperty: 'user_id', groupBy: [] },
];
const rows: Record<string, CounterRow[]> = {
  'jobs|job_type=embed&model=a': [{ period: '2026-03-02', value: '2', events: 2 }],
  'jobs|job_type=embed&model=b': [{ period: '2026-03-02', value: '3.5', events: 1 }],
  'jobs|job_type=chat&model=a': [{ period: '2026-03-01', value: '1', events: 1 }],
  'jobs|model=c': [{ period: '2026-03-01', value: '4', events: 4 }],
  'jobs|': [
    { period: '2026-03-01', value: '5', events: 5 },
    { period: '2026-03-02', value: '5.5', events: 3 },
  ],
  'latency|': [{ period: '2026-03-01', value: '0', events: 0 }],
};
/** UNIQUE_COUNT's counters by hour: a Kathmandu (+05:45) day is tiled by quarter-hours and hours. */
const userHours: CounterRow[] = [{ period: '2026-03-01T12', value: '3', events: 5 }];

function api(timeZone?: string) {
  const distinct: string[] = [];
  const handler = createUsageApi({
    meters: async () => meters,
    series: async (_t, meter, granularity, from, to, groupKey = '') =>
      (meter === 'users'
        ? granularity === 'hour'
          ? userHours
          : []
        : granularity === 'day'
          ? (rows[`${meter}|${groupKey}`] ?? [])
          : []
      ).filter((r) => r.period >= from && r.period <= to),
    groupKeys: async (_t, meter) =>
      Object.keys(rows).flatMap((k) => (k.startsWith(`${meter}|`) && k !== `${meter}|` ? [k.split('|')[1]!] : [])),
    readings: async () => [],
    distinctValues: async (_t, _m, ranges) => {
      distinct.push(ranges.map((r) => `${r.granularity} ${r.from}..${r.to}`).join(', '));
      return 4;
    },
    timeZones: async () => (timeZone ? [{ from: new Date(0).toISOString(), timeZone }] : undefined),
    now: () => Date.parse('2026-03-03T00:00:00Z'),
  });
  const get = async (query: Record<string, string>) => {
    const res = await handler(httpEvent({ routeKey: 'GET /v1/usage', tenantId: 'acme', query }), lambdaContext('usage'));
    return { status: res.statusCode, body: JSON.parse(res.body as string) };
  };
  return { get, distinct };
}

const march = { from: '2026-03-01T00:00:00Z', to: '2026-03-03T00:00:00Z' };
const values = (data: { value: string | null }[]) => data.map((b) => b.value);

describe('usage series: refusals', () => {
  it('answers 404 naming the meter for a meter the tenant does not have', async () => {
    expect(await api().get({ meter: 'nope' })).toEqual({
      status: 404,
      body: { code: 'NOT_FOUND', message: 'meter "nope" is not defined for this tenant', field: 'meter' },
    });
  });

  it('refuses `group` without `groupBy`, a property the meter is not grouped by, and a range of too many buckets', async () => {
    const { get } = api();
    expect(await get({ meter: 'jobs', group: 'embed', ...march })).toMatchObject({
      status: 400,
      body: { code: 'INVALID_REQUEST', message: '`group` needs `groupBy`', field: 'group' },
    });
    expect(await get({ meter: 'jobs', groupBy: 'region', ...march })).toMatchObject({
      status: 400,
      body: { message: 'meter "jobs" is not grouped by "region"; it is grouped by job_type, model', field: 'groupBy' },
    });
    expect(await get({ meter: 'calls', groupBy: 'region', ...march })).toMatchObject({
      status: 400,
      body: { message: 'meter "calls" is not grouped by "region"', field: 'groupBy' },
    });
    expect(await get({ meter: 'calls', granularity: 'hour', from: '2026-01-01T00:00:00Z', to: '2026-03-01T00:00:00Z' })).toMatchObject({
      status: 400,
      body: { message: 'the range spans more than 1000 hours; use a coarser granularity', field: 'granularity' },
    });
    expect(await get({ meter: 'calls', granularity: 'week', ...march })).toMatchObject({ status: 400, body: { field: 'granularity' } });
  });

  it('refuses a group-by series of a meter grouped by several properties whose values per combination do not add up', async () => {
    expect(await api().get({ meter: 'peak', groupBy: 'job_type', ...march })).toMatchObject({
      status: 400,
      body: {
        message: 'meter "peak" is grouped by job_type, model and its MAX values per combination do not add up by "job_type"',
        field: 'groupBy',
      },
    });
  });
});

describe('usage series: groups', () => {
  it('adds up the combinations that share a value, and names a combination without the property by the empty value', async () => {
    const { status, body } = await api().get({ meter: 'jobs', groupBy: 'job_type', ...march });
    expect(status).toBe(200);
    expect(values(body.data)).toEqual(['5', '5.5']);
    expect(body.groupBy).toBe('job_type');
    expect(
      body.groups.map((g: { value: string; data: { value: string; events: number }[] }) => [
        g.value,
        g.data.map((b) => [b.value, b.events]),
      ]),
    ).toEqual([
      [
        'embed',
        [
          ['0', 0],
          ['5.5', 3],
        ],
      ],
      [
        'chat',
        [
          ['1', 1],
          ['0', 0],
        ],
      ],
      [
        '',
        [
          ['4', 4],
          ['0', 0],
        ],
      ],
    ]);
  });

  it('answers only the chosen value with `group`', async () => {
    const { body } = await api().get({ meter: 'jobs', groupBy: 'model', group: 'a', ...march });
    expect(body.groups).toEqual([
      {
        value: 'a',
        data: [
          { periodStart: '2026-03-01T00:00:00.000Z', periodEnd: '2026-03-02T00:00:00.000Z', value: '1', events: 1 },
          { periodStart: '2026-03-02T00:00:00.000Z', periodEnd: '2026-03-03T00:00:00.000Z', value: '2', events: 2 },
        ],
      },
    ]);
  });
});

describe('usage series: buckets without a plain sum', () => {
  it('answers null for an AVG bucket without an event rather than a mean of nothing', async () => {
    const { body } = await api().get({ meter: 'latency', ...march });
    expect(values(body.data)).toEqual([null, null]);
  });

  it('reads the distinct values of a UNIQUE_COUNT bucket that several counters tile from their markers', async () => {
    const { get, distinct } = api('Asia/Kathmandu');
    const { body } = await get({ meter: 'users', from: '2026-03-01T00:00:00+05:45', to: '2026-03-02T00:00:00+05:45' });
    // An hour counter saw 3 users, but the day's other counters may have seen others or the same: only the markers know.
    expect(values(body.data)).toEqual(['4']);
    expect(distinct).toEqual([
      'quarter 2026-02-28T18:15..2026-02-28T18:45, hour 2026-02-28T19..2026-03-01T17, quarter 2026-03-01T18:00..2026-03-01T18:00',
    ]);
  });
});
