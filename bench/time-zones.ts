import { emptyFacts, foldUnits, planFold } from '../shared/metering/aggregation.js';
import type { UsageEvent } from '../shared/metering/events.js';
import type { Aggregation } from '../shared/metering/meters.js';
import { printTable } from './report.js';

/**
 * What the quarter-hour bucket costs the consumer: the fold of each workload planned as the consumer plans it
 * (one queue message per request, cut into fold units, one transaction each: its receipt, its counters, its
 * distinct-value markers), with and without the quarter-hour counters and markers. Writes are priced by AWS's rule
 * for transactions, 2 WCU per item under 1 KB (counter items are ~100 bytes), plus the ledger's put of each event
 * (1 WCU, as the end-to-end section measures). Storage: the counter and marker items a workload leaves, per event.
 * No stack: the plan is what the consumer writes, so the count is exact for these events.
 */
const HOUR = 3_600_000;

interface Workload {
  name: string;
  perRequest: number;
  total: number;
  /** How far back from a fixed hour the events spread, in ms. */
  spread: number;
  distinct?: boolean;
}

const workloads: Workload[] = [
  // The end-to-end section's events: three meters, one of them grouped, over the last hour.
  { name: 'mixed meters, 1000/request, one hour', perRequest: 1000, total: 10_000, spread: HOUR },
  { name: 'mixed meters, 100/request, one hour', perRequest: 100, total: 10_000, spread: HOUR },
  { name: 'mixed meters, 1000/request, one day', perRequest: 1000, total: 10_000, spread: 24 * HOUR },
  { name: 'mixed meters, 1/request, one day', perRequest: 1, total: 2_000, spread: 24 * HOUR },
  { name: 'distinct users, 100/request, one day', perRequest: 100, total: 10_000, spread: 24 * HOUR, distinct: true },
];

function event(w: Workload, i: number): UsageEvent {
  const at = new Date(Date.UTC(2026, 10, 23, 12) - Math.floor((i * 7919) % w.spread)).toISOString();
  const base = { tenantId: 'bench', id: `e${i}`, timestamp: at, payloadHash: `h${i}`, receivedAt: at };
  const as = (meter: string, aggregation: Aggregation, value: string, groupKey = '') => ({ ...base, meter, aggregation, value, groupKey });
  if (w.distinct) return as('seats', 'UNIQUE_COUNT', `user-${i % 500}`);
  if (i % 3 === 0) return as('api_calls', 'COUNT', '1');
  if (i % 3 === 1) return as('tokens', 'SUM', String(1000 + (i % 500)), `model=${i % 2 ? 'small' : 'large'}`);
  return as('orders', 'COUNT', '1');
}

export function timeZoneCost(): void {
  const rows = workloads.map((w) => {
    const events = Array.from({ length: w.total }, (_, i) => event(w, i));
    const items = { today: 0, quarters: 0 };
    const stored = { today: new Set<string>(), quarters: new Set<string>() };
    for (let m = 0; m * w.perRequest < w.total; m++) {
      for (const unit of foldUnits(`m${m}`, events.slice(m * w.perRequest, (m + 1) * w.perRequest))) {
        const plan = planFold(unit.events, emptyFacts());
        const writes = [...plan.counters, ...plan.markers];
        for (const c of writes) {
          const key = `${c.meter}|${c.granularity}|${c.groupKey}|${c.period}|${'value' in c ? c.value : ''}`;
          stored.quarters.add(key);
          if (c.granularity !== 'quarter') stored.today.add(key);
        }
        items.quarters += 1 + writes.length;
        items.today += 1 + writes.filter((c) => c.granularity !== 'quarter').length;
      }
    }
    const wcu = (n: number) => (1 + (2 * n) / w.total).toFixed(3);
    const per = (n: number) => (n / w.total).toFixed(4);
    return {
      workload: w.name,
      events: w.total,
      'WCU/event today': wcu(items.today),
      'WCU/event with quarter-hours': wcu(items.quarters),
      'stored items/event today': per(stored.today.size),
      'stored items/event with quarter-hours': per(stored.quarters.size),
    };
  });
  printTable(
    "Time zones: consumer writes per event, hour/day/month counters (today) beside quarter-hour/hour/day/month (any zone's day exact)",
    rows,
  );
}
