import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { counterPartition, counterSort } from '../aggregation.js';
import { counterRanges, isCalendarMonth, unitMonths } from '../period-usage.js';
import { Dec } from '../../kernel/decimal.js';
import type { Meter } from '../meters.js';
import { type Granularity, type Period, nextPeriodStart, periodKey, periodStart } from '../../kernel/periods.js';
import { queryAll } from '../../platform/dynamo/query.js';

/**
 * Reads a billing period's quantity of one meter from the counters table, by the rules in
 * billing-usage.ts. Only the meter totals (group "") are read: prices apply to a meter as a whole.
 */
export class DynamoMeterReader {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly countersTable: string,
  ) {}

  async quantity(tenantId: string, meter: Meter, period: Period, asOf: number): Promise<string> {
    switch (meter.aggregation) {
      case 'SUM':
      case 'COUNT':
        return (await this.counterValues(tenantId, meter.key, period)).reduce((sum, v) => sum.plus(v), new Dec(0)).toFixed();
      case 'MAX':
        return (await this.counterValues(tenantId, meter.key, period)).reduce((max, v) => Dec.max(max, v), new Dec(0)).toFixed();
      case 'UNIQUE_COUNT':
        return isCalendarMonth(period) ? ((await this.counterValues(tenantId, meter.key, period))[0]?.toFixed() ?? '0') : String(await this.distinctDayValues(tenantId, meter.key, period));
      case 'LATEST': {
        const before = await this.levelBefore(tenantId, meter.key, period.start);
        const hourly = await this.rows(tenantId, meter.key, 'hour', periodKey('hour', period.start), periodKey('hour', period.end - 1));
        return unitMonths(before, hourly.map((r) => ({ period: String(r.period), value: String(r.value) })), period, asOf);
      }
    }
  }

  private async counterValues(tenantId: string, meter: string, period: Period): Promise<Dec[]> {
    const ranges = await Promise.all(counterRanges(period).map((r) => this.rows(tenantId, meter, r.granularity, r.from, r.to)));
    return ranges.flat().map((r) => new Dec(String(r.value ?? 0)));
  }

  private rows(tenantId: string, meter: string, granularity: Granularity, from: string, to: string) {
    return queryAll(this.db, {
      TableName: this.countersTable,
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: {
        ':pk': counterPartition({ tenantId, meter }),
        ':from': counterSort({ tenantId, meter, granularity, groupKey: '', period: from }),
        ':to': counterSort({ tenantId, meter, granularity, groupKey: '', period: to }),
      },
      ProjectionExpression: '#period, #value',
      ExpressionAttributeNames: { '#period': 'period', '#value': 'value' },
    });
  }

  /** A gauge's level at `instant`: the newest reading of the hour it falls in or before, 0 without one. */
  async level(tenantId: string, meter: Meter, instant: number): Promise<string> {
    return (await this.levelBefore(tenantId, meter.key, nextPeriodStart('hour', periodStart('hour', instant)))) ?? '0';
  }

  /** The newest hourly reading before `instant`: the gauge's level when a period opens. */
  private async levelBefore(tenantId: string, meter: string, instant: number): Promise<string | undefined> {
    const items = await this.db.send(
      new QueryCommand({
        TableName: this.countersTable,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: {
          ':pk': counterPartition({ tenantId, meter }),
          ':from': 'hour##',
          ':to': counterSort({ tenantId, meter, granularity: 'hour', groupKey: '', period: periodKey('hour', instant - 1) }),
        },
        ScanIndexForward: false,
        Limit: 1,
      }),
    );
    const item = items.Items?.[0];
    return item ? String(item.value) : undefined;
  }

  /** Distinct values of a UNIQUE_COUNT meter over the period's days, from the per-day markers. */
  private async distinctDayValues(tenantId: string, meter: string, period: Period): Promise<number> {
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
}
