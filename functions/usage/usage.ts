import * as z from 'zod';
import { Dec } from '../../shared/kernel/decimal.js';
import { ClientError } from '../../shared/kernel/errors.js';
import { instantRange, instantText } from '../../shared/kernel/instants.js';
import {
  calendarMonth,
  type Granularity,
  granularities,
  nextPeriodStart,
  periodKey,
  periodKeyStart,
  periodStart,
  toIso,
} from '../../shared/kernel/periods.js';
import { aggregations, type Meter, meterSchema } from '../../shared/metering/meters.js';
import { average, timeWeighted, timeWeightedSeries } from '../../shared/metering/period-usage.js';
import type { CounterRow, GaugeReadings } from '../../shared/metering/ports.js';
import { httpApi, json, parseInput, routes } from '../../shared/platform/http.js';
import { requireTenant } from '../../shared/tenancy/access.js';

export interface UsageDependencies {
  meters(tenantId: string): Promise<Meter[]>;
  series(tenantId: string, meter: string, granularity: Granularity, from: string, to: string, groupKey?: string): Promise<CounterRow[]>;
  groupKeys(tenantId: string, meter: string, fromMonth: string, toMonth: string): Promise<string[]>;
  /** A TIME_WEIGHTED meter's readings per group (shared/metering/ports.ts `CounterReads.readings`). */
  readings(tenantId: string, meter: string, from: number, to: number): Promise<GaugeReadings[]>;
  now(): number;
}

/** How many buckets one query may return. */
const MAX_BUCKETS = 1_000;

export const usageQuery = z.object({
  meter: z.string().min(1),
  granularity: z.enum(granularities).default('day'),
  from: z.optional(instantText),
  to: z.optional(instantText),
  /** One of the meter's group-by properties: the answer adds a series per value of it. */
  groupBy: z.string().min(1).optional(),
  /** With `groupBy`: only this value's series. */
  group: z.string().optional(),
});

/** GET /v1/meters. */
export const metersSchema = z.object({ meters: z.array(meterSchema) });

const spanSchema = z.object({ start: z.string(), end: z.string() });

/** GET /v1/usage/current: per meter, this calendar month's value and event count. */
export const currentUsageSchema = z.object({
  period: spanSchema,
  meters: z.array(
    z.object({
      meter: z.string(),
      name: z.string(),
      unit: z.string(),
      aggregation: z.enum(aggregations),
      value: z.string(),
      events: z.int(),
    }),
  ),
});

/** One bucket of a series: `value` is null where a non-additive meter has no counter (or an AVG no event). */
const bucketSchema = z.object({ periodStart: z.string(), periodEnd: z.string(), value: z.string().nullable(), events: z.int() });

/** GET /v1/usage: a meter's series over a range, and with `groupBy` one series per value of the property. */
export const usageSeriesSchema = z.object({
  meter: z.string(),
  unit: z.string(),
  aggregation: z.enum(aggregations),
  granularity: z.enum(granularities),
  from: z.string(),
  to: z.string(),
  data: z.array(bucketSchema),
  groupBy: z.string().optional(),
  groups: z.array(z.object({ value: z.string(), data: z.array(bucketSchema) })).optional(),
});

/** Tenant-scoped reads: the tenant always comes from the caller's key, never from the request. */
export function createUsageApi(deps: UsageDependencies) {
  return httpApi(
    routes({
      'GET /v1/meters': async (event) => {
        const tenantId = requireTenant(event);
        return json(200, { meters: await deps.meters(tenantId) });
      },

      'GET /v1/usage/current': async (event) => {
        const tenantId = requireTenant(event);
        const period = calendarMonth(deps.now());
        const key = periodKey('month', period.start);
        const meters = await deps.meters(tenantId);
        const usage = await Promise.all(
          meters.map(async (m) => {
            const [row] = await deps.series(tenantId, m.key, 'month', key, key);
            const now = deps.now();
            const value =
              m.aggregation === 'AVG'
                ? average(new Dec(row?.value ?? 0), row?.events ?? 0)
                : m.aggregation === 'TIME_WEIGHTED'
                  ? timeWeighted(await deps.readings(tenantId, m.key, period.start, Math.min(now, period.end)), period, now, m.per!)
                  : (row?.value ?? '0');
            return {
              meter: m.key,
              name: m.name,
              unit: m.unit,
              aggregation: m.aggregation,
              value,
              events: row?.events ?? 0,
            };
          }),
        );
        return json(200, { period: { start: toIso(period.start), end: toIso(period.end) }, meters: usage });
      },

      'GET /v1/usage': async (event) => {
        const tenantId = requireTenant(event);
        const q = parseInput(usageQuery, event.queryStringParameters ?? {});
        const meter = (await deps.meters(tenantId)).find((m) => m.key === q.meter);
        if (!meter) throw new ClientError('NOT_FOUND', `meter "${q.meter}" is not defined for this tenant`, 'meter');

        const now = deps.now();
        const { from, to } = instantRange(q, { from: calendarMonth(now).start, to: now });
        if (q.group !== undefined && q.groupBy === undefined) throw new ClientError('INVALID_REQUEST', '`group` needs `groupBy`', 'group');
        const first = periodStart(q.granularity, from);
        const buckets: number[] = [];
        for (let at = first; at < to; at = nextPeriodStart(q.granularity, at)) {
          buckets.push(at);
          if (buckets.length > MAX_BUCKETS) {
            throw new ClientError(
              'INVALID_REQUEST',
              `the range spans more than ${MAX_BUCKETS} ${q.granularity}s; use a coarser granularity`,
              'granularity',
            );
          }
        }
        const range = [periodKey(q.granularity, first), periodKey(q.granularity, to - 1)] as const;
        const additive = meter.aggregation === 'SUM' || meter.aggregation === 'COUNT' || meter.aggregation === 'UNIQUE_COUNT';
        const periods = buckets.map((start) => ({ start, end: nextPeriodStart(q.granularity, start) }));
        // A TIME_WEIGHTED bucket is its integral, from the readings (one read for the whole range); its counters count events.
        const readings =
          meter.aggregation === 'TIME_WEIGHTED' ? await deps.readings(tenantId, meter.key, first, periods.at(-1)!.end) : undefined;
        const seriesOf = (rows: CounterRow[], groupKeys?: readonly string[]) => {
          const byPeriod = new Map(rows.map((r) => [periodKeyStart(q.granularity, r.period), r]));
          const integrals =
            readings &&
            timeWeightedSeries(groupKeys ? readings.filter((g) => groupKeys.includes(g.groupKey)) : readings, periods, now, meter.per!);
          return periods.map((p, i) => {
            const row = byPeriod.get(p.start);
            const value = integrals
              ? integrals[i]!
              : meter.aggregation === 'AVG'
                ? row && row.events > 0
                  ? average(new Dec(row.value), row.events)
                  : null
                : (row?.value ?? (additive ? '0' : null));
            return { periodStart: toIso(p.start), periodEnd: toIso(p.end), value, events: row?.events ?? 0 };
          });
        };
        const data = seriesOf(await deps.series(tenantId, meter.key, q.granularity, ...range));
        const answer = {
          meter: meter.key,
          // A TIME_WEIGHTED bucket is in unit-`per`s (GB-hours), `month` meaning the bucket's own length: its mean level.
          unit: meter.aggregation === 'TIME_WEIGHTED' && meter.per !== 'month' ? `${meter.unit}-${meter.per}` : meter.unit,
          aggregation: meter.aggregation,
          granularity: q.granularity,
          from: toIso(from),
          to: toIso(to),
        };
        if (q.groupBy === undefined) return json(200, { ...answer, data });
        const groups = await groupSeries(
          meter,
          q.groupBy,
          q.group,
          (groupKey) => deps.series(tenantId, meter.key, q.granularity, ...range, groupKey),
          () => deps.groupKeys(tenantId, meter.key, periodKey('month', first), periodKey('month', to - 1)),
        );
        return json(200, {
          ...answer,
          data,
          groupBy: q.groupBy,
          groups: groups.map((g) => ({ value: g.value, data: seriesOf(g.rows, g.groupKeys) })),
        });
      },
    }),
  );
}

/**
 * The counters of each value of one group-by property. A meter grouped by several properties keeps a
 * counter per combination, so the combinations sharing a value are added up: exact for SUM and COUNT, for AVG
 * (sums and event counts add, the mean is taken after) and TIME_WEIGHTED (integrals add: the caller integrates
 * the value's group keys); for other aggregations the parts do not add, so only a meter grouped by that property
 * alone answers.
 */
async function groupSeries(
  meter: Meter,
  property: string,
  only: string | undefined,
  series: (groupKey: string) => Promise<CounterRow[]>,
  keys: () => Promise<string[]>,
) {
  if (!meter.groupBy.includes(property)) {
    throw new ClientError(
      'INVALID_REQUEST',
      `meter "${meter.key}" is not grouped by "${property}"${meter.groupBy.length ? `; it is grouped by ${meter.groupBy.join(', ')}` : ''}`,
      'groupBy',
    );
  }
  const summable = ['SUM', 'COUNT', 'AVG', 'TIME_WEIGHTED'].includes(meter.aggregation);
  if (meter.groupBy.length > 1 && !summable) {
    throw new ClientError(
      'INVALID_REQUEST',
      `meter "${meter.key}" is grouped by ${meter.groupBy.join(', ')} and its ${meter.aggregation} values per combination do not add up by "${property}"`,
      'groupBy',
    );
  }
  const byValue = new Map<string, string[]>();
  for (const key of await keys()) {
    const value = new URLSearchParams(key).get(property) ?? '';
    if (only === undefined || value === only) byValue.set(value, [...(byValue.get(value) ?? []), key]);
  }
  return Promise.all(
    [...byValue].map(async ([value, groupKeys]) => {
      const parts = await Promise.all(groupKeys.map(series));
      if (parts.length === 1) return { value, groupKeys, rows: parts[0]! };
      const sums = new Map<string, { value: Dec; events: number }>();
      for (const row of parts.flat()) {
        const sum = sums.get(row.period) ?? { value: new Dec(0), events: 0 };
        sums.set(row.period, { value: sum.value.plus(row.value), events: sum.events + row.events });
      }
      return { value, groupKeys, rows: [...sums].map(([period, sum]) => ({ period, value: sum.value.toFixed(), events: sum.events })) };
    }),
  );
}
