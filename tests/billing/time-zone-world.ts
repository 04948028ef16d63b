import { seedPlans } from '../../shared/billing/plans.js';
import type { BillingReads } from '../../shared/billing/ports.js';
import type { Granularity } from '../../shared/kernel/periods.js';
import { counterKey, emptyFacts, markerKey, planFold } from '../../shared/metering/aggregation.js';
import type { UsageEvent } from '../../shared/metering/events.js';
import type { Aggregation, Meter } from '../../shared/metering/meters.js';
import { billedQuantity, type CounterRange } from '../../shared/metering/period-usage.js';
import type { CounterReads } from '../../shared/metering/ports.js';
import { seedMeters } from '../../shared/metering/seed-meters.js';

/**
 * A tenant's usage folded into counters in memory, exactly as the consumer folds them (planFold: every UTC bucket,
 * quarter-hour to month, with UNIQUE_COUNT markers), and read back through `CounterReads` as the DynamoDB reader does.
 */
export const TENANT = 'tz';

export const peak: Meter = { key: 'peak', name: 'Peak', unit: 'gpu', aggregation: 'MAX', groupBy: [] };
export const gpuHours: Meter = { key: 'gpu_hours', name: 'GPU hours', unit: 'hour', aggregation: 'SUM', groupBy: [] };
export const meters: Meter[] = [...seedMeters, peak, gpuHours];

export interface Use {
  meter: string;
  at: string;
  value?: string;
}

export function usageEvents(uses: readonly Use[]): UsageEvent[] {
  return uses.map((u, i) => {
    const meter = meters.find((m) => m.key === u.meter)!;
    return {
      tenantId: TENANT,
      id: `e${i}`,
      meter: u.meter,
      aggregation: meter.aggregation as Aggregation,
      timestamp: new Date(Date.parse(u.at)).toISOString(),
      value: u.value ?? '1',
      groupKey: '',
      payloadHash: `h${i}`,
      receivedAt: u.at,
    };
  });
}

export function counterReads(events: readonly UsageEvent[]): CounterReads {
  const plan = planFold(events, emptyFacts());
  const rows = new Map<string, { meter: string; granularity: Granularity; period: string; value: string; events: number }>();
  for (const c of plan.counters) {
    if (c.groupKey !== '') continue;
    rows.set(counterKey(c), {
      meter: c.meter,
      granularity: c.granularity,
      period: c.period,
      value: c.add ?? c.candidate!.value,
      events: c.events,
    });
  }
  const markers = new Map(plan.markers.map((m) => [markerKey(m), m]));
  const values = async (_tenant: string, meter: string, granularity: Granularity, from: string, to: string) =>
    [...rows.values()]
      .filter((r) => r.meter === meter && r.granularity === granularity && r.period >= from && r.period <= to)
      .sort((a, b) => a.period.localeCompare(b.period))
      .map(({ period, value, events }) => ({ period, value, events }));
  const newest = async (meter: string, granularity: Granularity, from: number, before: number) => {
    const key = (at: number) => new Date(at).toISOString().slice(0, granularity === 'hour' ? 13 : 16);
    if (before <= from) return undefined;
    const found = await values(TENANT, meter, granularity, key(from), key(before - 1));
    return found.at(-1)?.value;
  };
  return {
    values,
    // The zone scenarios have no TIME_WEIGHTED meter.
    readings: async () => [],
    levelBefore: async (_tenant, meter, instant) => {
      const hour = instant - (instant % 3_600_000);
      return (await newest(meter, 'quarter', hour, instant)) ?? (await newest(meter, 'hour', 0, hour));
    },
    distinctValues: async (_tenant, meter, ranges: readonly CounterRange[]) =>
      new Set(
        [...markers.values()]
          .filter(
            (m) =>
              m.meter === meter &&
              m.groupKey === '' &&
              ranges.some((r) => r.granularity === m.granularity && m.period >= r.from && m.period <= r.to),
          )
          .map((m) => m.value),
      ).size,
  };
}

export function billingReads(counters: CounterReads): BillingReads {
  return {
    plan: async (id) => seedPlans.find((p) => p.id === id),
    meters: async () => meters,
    quantity: (tenantId, meter, period, asOf) => billedQuantity(counters, tenantId, meter, period, asOf),
  };
}
