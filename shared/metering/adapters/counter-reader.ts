import { mapLimit } from '../../kernel/batching.js';
import { type Granularity, type Period, periodKey } from '../../kernel/periods.js';
import type { Documents } from '../../platform/dynamo/documents.js';
import { queryAll } from '../../platform/dynamo/query.js';
import { counterPartition, counterSort, readingPrefix } from '../aggregation.js';
import type { CounterReads, GaugeReadings, Reading } from '../ports.js';

/** Reads meter totals (group "") from the counters table; what they add up to is billing's rule (../period-usage.ts). */
export class DynamoCounterReader implements CounterReads {
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
    const items = await this.db.query({
      TableName: this.countersTable,
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: {
        ':pk': counterPartition({ tenantId, meter }),
        ':from': 'hour##',
        ':to': counterSort({ tenantId, meter, granularity: 'hour', groupKey: '', period: periodKey('hour', instant - 1) }),
      },
      ScanIndexForward: false,
      Limit: 1,
    });
    const item = items.Items?.[0];
    return item ? String(item.value) : undefined;
  }

  async distinctDayValues(tenantId: string, meter: string, period: Period): Promise<number> {
    const from = counterSort({ tenantId, meter, granularity: 'day', groupKey: '', period: periodKey('day', period.start) });
    const to = counterSort({ tenantId, meter, granularity: 'day', groupKey: '', period: periodKey('day', period.end - 1) });
    const markers = await queryAll(this.db, {
      TableName: this.countersTable,
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: { ':pk': counterPartition({ tenantId, meter }), ':from': `unique#${from}#`, ':to': `unique#${to}#\uffff` },
      ProjectionExpression: 'sk',
    });
    // The marker's sort key ends in "#<value>" after the fixed-length day key.
    const prefix = `unique#${from}#`.length;
    return new Set(markers.map((m) => String(m.sk).slice(prefix))).size;
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
}
