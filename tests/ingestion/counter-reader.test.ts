import { describe, expect, it } from 'vitest';
import { DynamoCounterReader } from '../../shared/metering/adapters/counter-reader.js';
import { fakeDocuments } from '../support/fake-documents.js';

/**
 * The counters table's reads against DynamoDB's answers: counters without a value yet, a gauge's level before an
 * instant (its own hour's quarter-hours first), readings per group where one group's text starts another's.
 */
const HOUR = Date.parse('2026-03-10T05:00:00.000Z');

describe('counter reader', () => {
  it('a counter that has counted events but holds no value yet reads as 0, one with neither as 0 events', async () => {
    const db = fakeDocuments({ query: () => ({ Items: [{ period: '2026-03-10T05', events: 2 }, { period: '2026-03-10T06' }] }) });
    const reader = new DynamoCounterReader(db, 'counters');
    const expected = [
      { period: '2026-03-10T05', value: '0', events: 2 },
      { period: '2026-03-10T06', value: '0', events: 0 },
    ];
    expect(await reader.values('t1', 'peak', 'hour', '2026-03-10T05', '2026-03-10T06')).toEqual(expected);
    expect(await reader.series('t1', 'peak', 'hour', '2026-03-10T05', '2026-03-10T06', 'region=eu')).toEqual(expected);
    expect(db.inputs('query')[1].ExpressionAttributeValues[':from']).toBe('hour#region=eu#2026-03-10T05');
  });

  it("a gauge's level before an instant is its own hour's newest quarter-hour before it, else the newest hour before", async () => {
    const quarter = fakeDocuments({ query: () => ({ Items: [{ value: 7 }] }) });
    expect(await new DynamoCounterReader(quarter, 'counters').levelBefore('t1', 'storage', HOUR + 40 * 60_000)).toBe('7');
    expect(quarter.inputs('query')[0].ExpressionAttributeValues).toMatchObject({
      ':from': 'quarter##2026-03-10T05:00',
      ':to': 'quarter##2026-03-10T05:30',
    });

    const hour = fakeDocuments({
      query: (input) => (String(input.ExpressionAttributeValues![':from']).startsWith('hour#') ? { Items: [{ value: 3 }] } : {}),
    });
    expect(await new DynamoCounterReader(hour, 'counters').levelBefore('t1', 'storage', HOUR + 40 * 60_000)).toBe('3');

    // At the top of an hour no quarter-hour of it is before the instant: only hours are read.
    const top = fakeDocuments({ query: () => ({}) });
    expect(await new DynamoCounterReader(top, 'counters').levelBefore('t1', 'storage', HOUR)).toBeUndefined();
    expect(top.inputs('query').map((q) => q.ExpressionAttributeValues[':to'])).toEqual(['hour##2026-03-10T04']);
  });

  it("reads each group's readings and the one before, keeping a group apart from one whose text starts alike", async () => {
    const reading = (groupKey: string, at: string, value: string) => ({ groupKey, at, id: `id-${at}`, value });
    const db = fakeDocuments({
      query: (input) => {
        const values = input.ExpressionAttributeValues!;
        if (values[':from'] === 'month#')
          return {
            Items: [
              { period: '2026-03' },
              { groupKey: 'r=eu', period: '2026-02' },
              { groupKey: 'r=eu-west', period: '2026-03' },
              { groupKey: 'r=us', period: '2026-04' },
            ],
          };
        const prefix = String(values[':from']);
        if (input.Limit === 1) {
          if (prefix === 'reading##') return { Items: [reading('', '2026-03-10T04:00:00.000Z', '1')] };
          return prefix === 'reading#r=eu#' ? { Items: [reading('r=eu-west', '2026-03-10T04:59:00.000Z', '9')] } : {};
        }
        if (prefix.startsWith('reading#r=eu#'))
          return { Items: [reading('r=eu', '2026-03-10T05:10:00.000Z', '2'), reading('r=eu-west', '2026-03-10T05:11:00.000Z', '8')] };
        return {};
      },
    });
    const groups = await new DynamoCounterReader(db, 'counters').readings('t1', 'storage', HOUR, HOUR + 3_600_000);
    expect(groups).toEqual([
      { groupKey: '', before: { at: '2026-03-10T04:00:00.000Z', id: 'id-2026-03-10T04:00:00.000Z', value: '1' }, readings: [] },
      { groupKey: 'r=eu', readings: [{ at: '2026-03-10T05:10:00.000Z', id: 'id-2026-03-10T05:10:00.000Z', value: '2' }] },
      { groupKey: 'r=eu-west', readings: [] },
    ]);
  });

  it('counts distinct values over several ranges once each, and lists groups without the total', async () => {
    const db = fakeDocuments({
      query: (input) => {
        const from = String(input.ExpressionAttributeValues![':from']);
        if (from.startsWith('unique#')) return { Items: [{ sk: `${from}amy` }, { sk: `${from}bob` }] };
        return { Items: [{ groupKey: '' }, { groupKey: 'team=b' }, { groupKey: 'team=a' }, { groupKey: 'team=b' }] };
      },
    });
    const reader = new DynamoCounterReader(db, 'counters');
    const ranges = [
      { granularity: 'day' as const, from: '2026-03-01', to: '2026-03-09' },
      { granularity: 'hour' as const, from: '2026-03-10T00', to: '2026-03-10T05' },
    ];
    expect(await reader.distinctValues('t1', 'seats', ranges)).toBe(2);
    expect(await reader.groupKeys('t1', 'seats', '2026-01', '2026-03')).toEqual(['team=a', 'team=b']);
  });
});
