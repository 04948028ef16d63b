import * as z from 'zod';
import { Dec } from '../../shared/kernel/decimal.js';
import { ClientError } from '../../shared/kernel/errors.js';
import { instantRange, instantText } from '../../shared/kernel/instants.js';
import {
  type Granularity,
  granularities,
  nextPeriodStart,
  type Period,
  periodKey,
  periodStart,
  tiles,
  toIso,
} from '../../shared/kernel/periods.js';
import {
  addDays,
  calendarPeriods,
  localDate,
  localMonth,
  startOfDate,
  startOfDay,
  type ZoneChange,
  zoneAt,
} from '../../shared/kernel/zones.js';
import { aggregations, type Meter, meterSchema } from '../../shared/metering/meters.js';
import { average, bucketCounters, type CounterRange, counterRanges, timeWeightedSeries } from '../../shared/metering/period-usage.js';
import type { CounterRow, GaugeReadings } from '../../shared/metering/ports.js';
import { httpApi, json, parseInput, routes } from '../../shared/platform/http.js';
import { requireTenant } from '../../shared/tenancy/access.js';

export interface UsageDependencies {
  meters(tenantId: string): Promise<Meter[]>;
  series(tenantId: string, meter: string, granularity: Granularity, from: string, to: string, groupKey?: string): Promise<CounterRow[]>;
  groupKeys(tenantId: string, meter: string, fromMonth: string, toMonth: string): Promise<string[]>;
  /** A TIME_WEIGHTED meter's readings per group (shared/metering/ports.ts `CounterReads.readings`). */
  readings(tenantId: string, meter: string, from: number, to: number): Promise<GaugeReadings[]>;
  /** A UNIQUE_COUNT meter's distinct values over counter ranges (shared/metering/ports.ts `CounterReads.distinctValues`). */
  distinctValues(tenantId: string, meter: string, ranges: readonly CounterRange[], groupKey?: string): Promise<number>;
  /** The tenant's calendar: its subscription's zone changes, none (UTC) without a subscription. */
  timeZones(tenantId: string): Promise<readonly ZoneChange[] | undefined>;
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

/**
 * The buckets of a series over [from, to): days and months are the tenant's local ones (a day of 23 or 25 hours across
 * DST), hours and quarter-hours UTC's. The range is counted in UTC buckets first, so a huge one is refused before its
 * local days are worked out.
 */
function bucketsOf(granularity: Granularity, timeZones: readonly ZoneChange[] | undefined, from: number, to: number): Period[] {
  const tooMany = (count: number) => {
    if (count <= MAX_BUCKETS) return;
    throw new ClientError(
      'INVALID_REQUEST',
      `the range spans more than ${MAX_BUCKETS} ${granularity}s; use a coarser granularity`,
      'granularity',
    );
  };
  const utc: Period[] = [];
  for (let at = periodStart(granularity, from); at < to; at = nextPeriodStart(granularity, at)) {
    utc.push({ start: at, end: nextPeriodStart(granularity, at) });
    tooMany(utc.length);
  }
  if (granularity !== 'day' && granularity !== 'month') return utc;
  const zone = (at: number) => zoneAt(timeZones, at).timeZone;
  const span =
    granularity === 'day'
      ? { start: startOfDay(zone(from), from), end: startOfDate(zone(to - 1), addDays(localDate(zone(to - 1), to - 1), 1)) }
      : { start: localMonth(zone(from), from).start, end: localMonth(zone(to - 1), to - 1).end };
  const local = calendarPeriods(timeZones, span, granularity).map(({ start, end }) => ({ start, end }));
  tooMany(local.length);
  return local;
}

/** GET /v1/meters. */
export const metersSchema = z.object({ meters: z.array(meterSchema) });

const spanSchema = z.object({ start: z.string(), end: z.string() });

/** GET /v1/usage/current: per meter, the tenant's local month's value and event count. */
export const currentUsageSchema = z.object({
  period: spanSchema.extend({ timeZone: z.string() }),
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
  /** The zone whose local days and months `day` and `month` buckets are. */
  timeZone: z.string(),
  from: z.string(),
  to: z.string(),
  data: z.array(bucketSchema),
  groupBy: z.string().optional(),
  groups: z.array(z.object({ value: z.string(), data: z.array(bucketSchema) })).optional(),
});

/** Tenant-scoped reads: the tenant always comes from the caller's key, never from the request. */
export function createUsageApi(deps: UsageDependencies) {
  /** A TIME_WEIGHTED meter's readings over `periods` (consecutive), every group's, in one read; other meters have none. */
  const readingsOf = async (tenantId: string, meter: Meter, periods: readonly Period[]) =>
    meter.aggregation === 'TIME_WEIGHTED' ? deps.readings(tenantId, meter.key, periods[0]!.start, periods.at(-1)!.end) : [];

  /**
   * A meter's value in each of `periods` (consecutive), for the meter total or for the group keys of one group-by
   * value, whose counters add (see `groupSeries`). Each period is read as the UTC counters that tile it; a
   * TIME_WEIGHTED bucket is the integral of `readings` (`readingsOf`), its counters counting events.
   */
  async function seriesOf(
    tenantId: string,
    meter: Meter,
    periods: readonly Period[],
    now: number,
    readings: readonly GaugeReadings[],
    groupKeys?: readonly string[],
  ) {
    const read = async (granularity: Granularity, from: string, to: string) => {
      const parts = await Promise.all((groupKeys ?? ['']).map((k) => deps.series(tenantId, meter.key, granularity, from, to, k)));
      return parts.length === 1 ? parts[0]! : addRows(parts.flat());
    };
    const counters = await bucketCounters(read, meter.aggregation, periods);
    const integrals =
      meter.aggregation === 'TIME_WEIGHTED' &&
      timeWeightedSeries(
        readings.filter((g) => !groupKeys || groupKeys.includes(g.groupKey)),
        periods,
        now,
        meter.per!,
      );
    const additive = meter.aggregation === 'SUM' || meter.aggregation === 'COUNT' || meter.aggregation === 'UNIQUE_COUNT';
    return Promise.all(
      periods.map(async (p, i) => {
        const counter = counters[i];
        const events = counter?.events ?? 0;
        let value: string | null = counter?.value ?? (additive ? '0' : null);
        if (integrals) value = integrals[i]!;
        else if (meter.aggregation === 'AVG') value = counter && events > 0 ? average(new Dec(counter.value), events) : null;
        // Distinct values do not add across counters: a bucket that no one counter covers reads its markers.
        else if (meter.aggregation === 'UNIQUE_COUNT' && counter && tiles(p).length > 1)
          value = String(await deps.distinctValues(tenantId, meter.key, counterRanges(p), groupKeys?.[0]));
        return { periodStart: toIso(p.start), periodEnd: toIso(p.end), value, events };
      }),
    );
  }

  return httpApi(
    routes({
      'GET /v1/meters': async (event) => {
        const tenantId = requireTenant(event);
        return json(200, { meters: await deps.meters(tenantId) });
      },

      'GET /v1/usage/current': async (event) => {
        const tenantId = requireTenant(event);
        const now = deps.now();
        const timeZone = zoneAt(await deps.timeZones(tenantId), now).timeZone;
        const period = localMonth(timeZone, now);
        const meters = await deps.meters(tenantId);
        const usage = await Promise.all(
          meters.map(async (m) => {
            const [bucket] = await seriesOf(tenantId, m, [period], now, await readingsOf(tenantId, m, [period]));
            return {
              meter: m.key,
              name: m.name,
              unit: m.unit,
              aggregation: m.aggregation,
              value: bucket!.value ?? '0',
              events: bucket!.events,
            };
          }),
        );
        return json(200, { period: { start: toIso(period.start), end: toIso(period.end), timeZone }, meters: usage });
      },

      'GET /v1/usage': async (event) => {
        const tenantId = requireTenant(event);
        const q = parseInput(usageQuery, event.queryStringParameters ?? {});
        const meter = (await deps.meters(tenantId)).find((m) => m.key === q.meter);
        if (!meter) throw new ClientError('NOT_FOUND', `meter "${q.meter}" is not defined for this tenant`, 'meter');

        const now = deps.now();
        const timeZones = await deps.timeZones(tenantId);
        const timeZone = zoneAt(timeZones, now).timeZone;
        const { from, to } = instantRange(q, { from: localMonth(timeZone, now).start, to: now });
        if (q.group !== undefined && q.groupBy === undefined) throw new ClientError('INVALID_REQUEST', '`group` needs `groupBy`', 'group');
        const periods = bucketsOf(q.granularity, timeZones, from, to);
        const answer = {
          meter: meter.key,
          // A TIME_WEIGHTED bucket is in unit-`per`s (GB-hours), `month` meaning the bucket's own length: its mean level.
          unit: meter.aggregation === 'TIME_WEIGHTED' && meter.per !== 'month' ? `${meter.unit}-${meter.per}` : meter.unit,
          aggregation: meter.aggregation,
          granularity: q.granularity,
          timeZone,
          from: toIso(from),
          to: toIso(to),
        };
        const readings = await readingsOf(tenantId, meter, periods);
        const data = await seriesOf(tenantId, meter, periods, now, readings);
        if (q.groupBy === undefined) return json(200, { ...answer, data });
        const groups = await groupSeries(meter, q.groupBy, q.group, () =>
          deps.groupKeys(tenantId, meter.key, periodKey('month', periods[0]!.start), periodKey('month', periods.at(-1)!.end - 1)),
        );
        return json(200, {
          ...answer,
          data,
          groupBy: q.groupBy,
          groups: await Promise.all(
            groups.map(async (g) => ({ value: g.value, data: await seriesOf(tenantId, meter, periods, now, readings, g.groupKeys) })),
          ),
        });
      },
    }),
  );
}

/** Counter rows of several group keys added up per period (their sums and event counts). */
function addRows(rows: readonly CounterRow[]): CounterRow[] {
  const sums = new Map<string, { value: Dec; events: number }>();
  for (const row of rows) {
    const sum = sums.get(row.period) ?? { value: new Dec(0), events: 0 };
    sums.set(row.period, { value: sum.value.plus(row.value), events: sum.events + row.events });
  }
  return [...sums]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([period, sum]) => ({ period, value: sum.value.toFixed(), events: sum.events }));
}

/**
 * The group keys of each value of one group-by property. A meter grouped by several properties keeps a counter per
 * combination, so the combinations sharing a value are added up: exact for SUM and COUNT, for AVG (sums and event
 * counts add, the mean is taken after) and TIME_WEIGHTED (integrals add: the caller integrates the value's group
 * keys); for other aggregations the parts do not add, so only a meter grouped by that property alone answers.
 */
async function groupSeries(meter: Meter, property: string, only: string | undefined, keys: () => Promise<string[]>) {
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
  return [...byValue].map(([value, groupKeys]) => ({ value, groupKeys }));
}
