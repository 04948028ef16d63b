import { mapLimit } from '../../kernel/batching.js';
import { type Granularity, periodKey, periodStart } from '../../kernel/periods.js';
import type { Documents } from '../../platform/dynamo/documents.js';
import { queryAll } from '../../platform/dynamo/query.js';
import { counterPartition, counterSort, readingPrefix } from '../aggregation.js';
import type { CounterRange } from '../period-usage.js';
import type { CounterReads, CounterRow, CounterSeries, GaugeReadings, Reading } from '../ports.js';

/**
 * Reads the counters table: meter totals (group "") for billed quantities, whose sum is billing's rule
 * (../period-usage.ts), and any group's series for the usage API.
 */
export class DynamoCounterReader implements CounterReads, CounterSeries {
  constructor(
    private readonly db: Documents,
    private readonly countersTable: string,
  ) {}

  async values(
    tenantId: string,
    meter: string,
    granularity: Granularity,
    from: string,
    to: string,
  ): Promise<{ period: string; value: string; events: number }[]> {
    const items = await queryAll(this.db, {
      TableName: this.countersTable,
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: {
        ':pk': counterPartition({ tenantId, meter }),
        ':from': counterSort({ tenantId, meter, granularity, groupKey: '', period: from }),
        ':to': counterSort({ tenantId, meter, granularity, groupKey: '', period: to }),
      },
      ProjectionExpression: '#period, #value, #events',
      ExpressionAttributeNames: { '#period': 'period', '#value': 'value', '#events': 'events' },
    });
    return items.map((r) => ({ period: String(r.period), value: String(r.value ?? 0), events: Number(r.events ?? 0) }));
  }

  async levelBefore(tenantId: string, meter: string, instant: number): Promise<string | undefined> {
    const newest = async (granularity: Granularity, from: number, before: number) => {
      if (before <= from) return undefined;
      const sort = (at: number) => counterSort({ tenantId, meter, granularity, groupKey: '', period: periodKey(granularity, at) });
      const items = await this.db.query({
        TableName: this.countersTable,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':pk': counterPartition({ tenantId, meter }), ':from': sort(from), ':to': sort(before - 1) },
        ScanIndexForward: false,
        Limit: 1,
      });
      const item = items.Items?.[0];
      return item ? String(item.value) : undefined;
    };
    // Readings of whole hours before `instant`, unless a quarter-hour of its own hour before it holds a newer one.
    const hour = periodStart('hour', instant);
    return (await newest('quarter', hour, instant)) ?? (await newest('hour', 0, hour));
  }

  async distinctValues(tenantId: string, meter: string, ranges: readonly CounterRange[], groupKey = ''): Promise<number> {
    const values = new Set<string>();
    for (const r of ranges) {
      const sort = (period: string) => `unique#${counterSort({ tenantId, meter, granularity: r.granularity, groupKey, period })}#`;
      const markers = await queryAll(this.db, {
        TableName: this.countersTable,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':pk': counterPartition({ tenantId, meter }), ':from': sort(r.from), ':to': `${sort(r.to)}\uffff` },
        ProjectionExpression: 'sk',
      });
      // The marker's sort key ends in "#<value>" after the fixed-length period key.
      const prefix = sort(r.from).length;
      for (const m of markers) values.add(String(m.sk).slice(prefix));
    }
    return values.size;
  }

  /**
   * Per group: one query for the newest reading before `from` and one for the readings of [from, to). The groups
   * are those with a month counter up to `to` (a group's last reading may be months old and still held).
   */
  async readings(tenantId: string, meter: string, from: number, to: number): Promise<GaugeReadings[]> {
    const pk = counterPartition({ tenantId, meter });
    const lastMonth = periodKey('month', to - 1);
    const months = await queryAll(this.db, {
      TableName: this.countersTable,
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: { ':pk': pk, ':from': 'month#', ':to': 'month#\uffff' },
      ProjectionExpression: 'groupKey, #period',
      ExpressionAttributeNames: { '#period': 'period' },
    });
    const groups = [...new Set(months.filter((m) => String(m.period) <= lastMonth).map((m) => String(m.groupKey ?? '')))].sort();
    const start = new Date(from).toISOString();
    const end = new Date(to).toISOString();
    const reading = (item: Record<string, unknown>): Reading => ({ at: String(item.at), id: String(item.id), value: String(item.value) });
    return mapLimit(groups, 4, async (groupKey) => {
      // Sort keys hold the group's text: the stored groupKey tells a group from one whose text merely starts alike.
      const own = (items: Record<string, unknown>[] | undefined) => (items ?? []).filter((i) => i.groupKey === groupKey);
      const [before, within] = await Promise.all([
        this.db.query({
          TableName: this.countersTable,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: { ':pk': pk, ':from': readingPrefix(groupKey), ':to': readingPrefix(groupKey) + start },
          ScanIndexForward: false,
          Limit: 1,
        }),
        queryAll(this.db, {
          TableName: this.countersTable,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: { ':pk': pk, ':from': readingPrefix(groupKey) + start, ':to': readingPrefix(groupKey) + end },
        }),
      ]);
      const last = own(before.Items)[0];
      return { groupKey, ...(last ? { before: reading(last) } : {}), readings: own(within).map(reading) };
    });
  }

  async series(tenantId: string, meter: string, granularity: Granularity, from: string, to: string, groupKey = ''): Promise<CounterRow[]> {
    const items = await queryAll(this.db, {
      TableName: this.countersTable,
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: {
        ':pk': counterPartition({ tenantId, meter }),
        ':from': counterSort({ tenantId, meter, granularity, groupKey, period: from }),
        ':to': counterSort({ tenantId, meter, granularity, groupKey, period: to }),
      },
    });
    return items.map((item) => ({ period: String(item.period), value: String(item.value ?? 0), events: Number(item.events ?? 0) }));
  }

  async groupKeys(tenantId: string, meter: string, fromMonth: string, toMonth: string): Promise<string[]> {
    // Month counters are few (one per group and month), so filtering them by period is cheap.
    const items = await queryAll(this.db, {
      TableName: this.countersTable,
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      FilterExpression: '#period BETWEEN :fromMonth AND :toMonth',
      ProjectionExpression: 'groupKey',
      ExpressionAttributeNames: { '#period': 'period' },
      ExpressionAttributeValues: {
        ':pk': counterPartition({ tenantId, meter }),
        ':from': 'month##\uffff',
        ':to': 'month#\uffff',
        ':fromMonth': fromMonth,
        ':toMonth': toMonth,
      },
    });
    return [...new Set(items.map((item) => String(item.groupKey)))].filter((g) => g !== '').sort();
  }
}
