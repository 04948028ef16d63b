import { type Granularity, nextPeriodStart, type Period, periodKey, periodKeyStart, tiles } from '../../kernel/periods.js';
import { batchGetAll } from '../../platform/dynamo/batch-get.js';
import type { Documents } from '../../platform/dynamo/documents.js';
import { counterPartition, counterSort } from '../aggregation.js';
import type { Meter } from '../meters.js';
import { isCalendarMonth } from '../period-usage.js';
import type { CounterReads } from '../ports.js';

/** A meter's period whose billed quantity is to be read. */
export interface WantedQuantity {
  tenantId: string;
  meter: Pick<Meter, 'key' | 'aggregation'>;
  period: Period;
}

const keyOf = (tenantId: string, meter: string, granularity: Granularity, period: string) =>
  `${counterPartition({ tenantId, meter })}|${counterSort({ tenantId, meter, granularity, groupKey: '', period })}`;

/**
 * Counter reads for many tenants at once: `prefetch` reads, by BatchGetItem, the meter totals that tile each wanted
 * period (the counters `billedQuantity` adds up, takes the largest of or averages), and `values` answers from them a
 * range it read whole. Everything else (ranges not read ahead, gauges' readings, distinct-value markers) goes to the
 * per-tenant reader.
 */
export class CounterPrefetch implements CounterReads {
  private readonly read = new Set<string>();
  private readonly rows = new Map<string, { value: string; events: number }>();

  constructor(
    private readonly db: Documents,
    private readonly countersTable: string,
    private readonly inner: CounterReads,
  ) {}

  async prefetch(wanted: readonly WantedQuantity[]): Promise<void> {
    const keys = new Map<string, { pk: string; sk: string }>();
    for (const { tenantId, meter, period } of wanted) {
      const a = meter.aggregation;
      // Gauges read readings, and UNIQUE_COUNT over anything but a calendar month reads markers: not counters.
      if (a === 'LATEST' || a === 'TIME_WEIGHTED' || (a === 'UNIQUE_COUNT' && !isCalendarMonth(period))) continue;
      for (const tile of tiles(period)) {
        const ref = {
          tenantId,
          meter: meter.key,
          granularity: tile.granularity,
          groupKey: '',
          period: periodKey(tile.granularity, tile.start),
        };
        const key = keyOf(tenantId, meter.key, ref.granularity, ref.period);
        if (!this.read.has(key)) keys.set(key, { pk: counterPartition(ref), sk: counterSort(ref) });
      }
    }
    const items = await batchGetAll(this.db, this.countersTable, [...keys.values()], {
      projection: 'pk, sk, #value, #events',
      names: { '#value': 'value', '#events': 'events' },
      concurrency: 8,
    });
    for (const item of items) this.rows.set(`${item.pk}|${item.sk}`, { value: String(item.value ?? 0), events: Number(item.events ?? 0) });
    for (const key of keys.keys()) this.read.add(key);
  }

  async values(tenantId: string, meter: string, granularity: Granularity, from: string, to: string) {
    const out: { period: string; value: string; events: number }[] = [];
    for (let at = periodKeyStart(granularity, from); ; at = nextPeriodStart(granularity, at)) {
      const period = periodKey(granularity, at);
      if (period > to) break;
      const key = keyOf(tenantId, meter, granularity, period);
      if (!this.read.has(key)) return this.inner.values(tenantId, meter, granularity, from, to);
      const row = this.rows.get(key);
      if (row) out.push({ period, ...row });
    }
    return out;
  }

  levelBefore(tenantId: string, meter: string, instant: number) {
    return this.inner.levelBefore(tenantId, meter, instant);
  }

  distinctValues(...args: Parameters<CounterReads['distinctValues']>) {
    return this.inner.distinctValues(...args);
  }

  readings(...args: Parameters<CounterReads['readings']>) {
    return this.inner.readings(...args);
  }
}
