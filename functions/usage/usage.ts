import { z } from 'zod';
import { ClientError } from '../../shared/kernel/errors.js';
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
import type { Meter } from '../../shared/metering/meters.js';
import type { CounterRow } from '../../shared/metering/ports.js';
import { httpApi, json, parseInput, routes } from '../../shared/platform/http.js';
import { requireTenant } from '../../shared/tenancy/access.js';

export interface UsageDependencies {
  meters(tenantId: string): Promise<Meter[]>;
  series(tenantId: string, meter: string, granularity: Granularity, from: string, to: string): Promise<CounterRow[]>;
  now(): number;
}

/** How many buckets one query may return. */
const MAX_BUCKETS = 1_000;

export const usageQuery = z.object({
  meter: z.string().min(1),
  granularity: z.enum(granularities).default('day'),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
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
            return {
              meter: m.key,
              name: m.name,
              unit: m.unit,
              aggregation: m.aggregation,
              value: row?.value ?? '0',
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
        const to = q.to ? Date.parse(q.to) : now;
        const from = q.from ? Date.parse(q.from) : calendarMonth(now).start;
        if (from >= to) throw new ClientError('INVALID_REQUEST', '`from` must be before `to`', 'from');
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
        const rows = await deps.series(
          tenantId,
          meter.key,
          q.granularity,
          periodKey(q.granularity, first),
          periodKey(q.granularity, to - 1),
        );
        const byPeriod = new Map(rows.map((r) => [periodKeyStart(q.granularity, r.period), r]));
        const additive = meter.aggregation !== 'MAX' && meter.aggregation !== 'LATEST';
        const data = buckets.map((start) => {
          const row = byPeriod.get(start);
          return {
            periodStart: toIso(start),
            periodEnd: toIso(nextPeriodStart(q.granularity, start)),
            value: row?.value ?? (additive ? '0' : null),
            events: row?.events ?? 0,
          };
        });
        return json(200, {
          meter: meter.key,
          unit: meter.unit,
          aggregation: meter.aggregation,
          granularity: q.granularity,
          from: toIso(from),
          to: toIso(to),
          data,
        });
      },
    }),
  );
}
