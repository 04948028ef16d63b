import { describe, expect, it } from 'vitest';
import { DynamoRecomputeStore } from '../../shared/metering/adapters/recompute-store.js';
import type { LedgerPage } from '../../shared/metering/ports.js';
import type { Drift, RecomputeScope } from '../../shared/metering/recompute.js';
import { awsError, cancelled, conditionFailed, fakeDocuments, throttled } from '../support/fake-documents.js';

/**
 * Recompute's DynamoDB adapter against DynamoDB's answers in the cases a stack rarely produces: several pages,
 * unprocessed batch keys, a fold landing between the comparison and the repair, throttling that outlasted retries.
 */
const tables = { eventsTable: 'events', countersTable: 'counters' };
const DAY = Date.parse('2026-03-10T00:00:00Z');
const scope: RecomputeScope = { tenantId: 't1', from: DAY, to: DAY + 86_400_000 };
const hour = { tenantId: 't1', meter: 'tokens', granularity: 'hour' as const, period: '2026-03-10T05', groupKey: '' };
const counterPk = 't1#tokens';

describe('recompute store: reading counters', () => {
  it('follows LastEvaluatedKey through every page of a meter and keeps only the counters in scope', async () => {
    const db = fakeDocuments({
      query: (input, n) =>
        n === 0
          ? {
              Items: [
                { pk: counterPk, sk: 'hour##2026-03-10T05', granularity: 'hour', period: '2026-03-10T05', value: 7, events: 2 },
                { pk: counterPk, sk: 'hour##2026-03-11T00', granularity: 'hour', period: '2026-03-11T00', value: 1, events: 1 },
              ],
              LastEvaluatedKey: { pk: counterPk, sk: 'hour##2026-03-11T00' },
            }
          : {
              Items: [
                // A counter with a group and no value yet (a MAX counter whose fold only counted), and its markers.
                { pk: counterPk, sk: 'hour#eu#2026-03-10T05', granularity: 'hour', period: '2026-03-10T05', groupKey: 'eu', events: 3 },
                { pk: counterPk, sk: 'unique#hour#eu#2026-03-10T05#zed' },
                { pk: counterPk, sk: 'unique#hour#eu#2026-03-10T05#amy' },
                { pk: counterPk, sk: 'unique#day#eu#2026-03-09#old' },
              ],
            },
    });
    const counters = await new DynamoRecomputeStore(db, tables).counters(scope, ['tokens']);

    expect(db.inputs('query').map((q) => q.ExclusiveStartKey)).toEqual([undefined, { pk: counterPk, sk: 'hour##2026-03-11T00' }]);
    expect(db.inputs('query').every((q) => q.ConsistentRead)).toBe(true);
    expect([...counters.values()]).toEqual([
      { ref: hour, value: '7', events: 2 },
      { ref: { ...hour, groupKey: 'eu' }, events: 3, markers: ['amy', 'zed'] },
    ]);
  });

  it('reads TIME_WEIGHTED readings as markers of their hour counter, and a marker of a counter not stored yet alone', async () => {
    const reading = (at: string, id: string, value: string) => ({
      pk: counterPk,
      sk: `reading##${at}#${id}`,
      groupKey: '',
      at,
      id,
      value,
    });
    const db = fakeDocuments({
      query: () => ({
        Items: [
          reading('2026-03-10T05:30:00.000Z', 'e2', '4'),
          reading('2026-03-10T05:10:00.000Z', 'e1', '2.5'),
          reading('2026-03-09T23:10:00.000Z', 'e0', '1'),
          { pk: counterPk, sk: 'unique#day##2026-03-10#amy' },
        ],
      }),
    });
    const counters = await new DynamoRecomputeStore(db, tables).counters(scope, ['tokens']);

    expect([...counters.values()]).toEqual([
      { ref: hour, events: 0, markers: ['2026-03-10T05:10:00.000Z#2.5#e1', '2026-03-10T05:30:00.000Z#4#e2'] },
      { ref: { ...hour, granularity: 'day', period: '2026-03-10' }, events: 0, markers: ['amy'] },
    ]);
  });

  it('surfaces throttling that outlasted the transport retries rather than answering with fewer counters', async () => {
    const db = fakeDocuments({ query: () => Promise.reject(throttled()) });
    await expect(new DynamoRecomputeStore(db, tables).counters(scope, ['tokens'])).rejects.toThrow(
      expect.objectContaining({ name: 'ProvisionedThroughputExceededException' }),
    );
  });
});

describe('recompute store: reading the ledger', () => {
  const q = {
    tenantId: 't1',
    from: '2026-03-10T00:00:00.000Z',
    to: '2026-03-11T00:00:00.000Z',
    correctionsSince: '2026-03-09T00:00:00.000Z',
  };
  const entry = (id: string, more: Record<string, unknown> = {}) => ({
    pk: `t1#${id}`,
    tenantId: 't1',
    id,
    meter: 'tokens',
    aggregation: 'SUM',
    timestamp: '2026-03-10T05:00:00.000Z',
    value: 2,
    groupKey: '',
    ...more,
  });

  it('reads every segment to its last page, corrections apart, and names the entries whose fold has not committed', async () => {
    const db = fakeDocuments({
      scan: (input) =>
        input.Segment === 1 || input.ExclusiveStartKey
          ? { ScannedCount: 1, Items: [entry('e9', { status: 'counted', claimedBy: 'replay' })] }
          : {
              ScannedCount: 5,
              LastEvaluatedKey: { pk: 't1#e3' },
              Items: [
                entry('e1', { claimedBy: 'r-folded' }),
                entry('e2', { claimedBy: 'r-missing' }),
                entry('e3', { claimedBy: 'r-split' }),
                entry('e4', { status: 'quarantined', claimedBy: 'r-missing' }),
                { pk: 'correction#t1#c1', before: entry('e5'), after: entry('e5', { value: '3' }) },
                { pk: 'correction#t1#c2', before: entry('e6') },
              ],
            },
      // DynamoDB may leave keys unprocessed under load: they are asked for again.
      batchGet: (input, n) => {
        const keys = input.RequestItems!.events!.Keys!.map((k) => k.pk);
        if (n === 0)
          return {
            Responses: { events: [{ pk: '#fold#r-split', split: true }] },
            UnprocessedKeys: { events: { Keys: [{ pk: '#fold#r-folded' }] } },
          };
        expect(keys).toEqual(['#fold#r-folded']);
        return { Responses: { events: [{ pk: '#fold#r-folded' }] } };
      },
    });
    const pages: LedgerPage[] = [];
    await new DynamoRecomputeStore(db, tables, 2).scanLedger({ ...q, meter: 'tokens' }, (page) => {
      pages.push(page);
    });

    expect(db.inputs('scan').map((s) => [s.Segment, s.TotalSegments, s.ExclusiveStartKey])).toEqual([
      [0, 2, undefined],
      [1, 2, undefined],
      [0, 2, { pk: 't1#e3' }],
    ]);
    expect(db.inputs('scan')[0].FilterExpression).toContain('meter = :m');
    expect(db.inputs('scan')[0].ExpressionAttributeValues[':m']).toBe('tokens');
    const first = pages.find((p) => p.scanned === 5)!;
    expect(first.entries.map((e) => [e.id, e.status, e.value])).toEqual([
      ['e1', 'counted', '2'],
      ['e2', 'counted', '2'],
      ['e3', 'counted', '2'],
      ['e4', 'quarantined', '2'],
    ]);
    expect(first.corrections).toEqual([{ before: entry('e5'), after: entry('e5', { value: '3' }) }, { before: entry('e6') }]);
    expect(first.unfolded.map((e) => e.id)).toEqual(['e2', 'e3']);
    // Replayed entries were folded by the replay itself: no receipt is looked up for them.
    expect(pages.filter((p) => p.scanned === 1).map((p) => p.unfolded)).toEqual([[], []]);
    expect(db.inputs('batchGet')).toHaveLength(2);
  });

  it('an empty segment is one page with nothing in it', async () => {
    const db = fakeDocuments({ scan: () => ({}) });
    const pages: LedgerPage[] = [];
    await new DynamoRecomputeStore(db, tables, 1).scanLedger(q, (page) => {
      pages.push(page);
    });
    expect(db.inputs('scan')[0].FilterExpression).not.toContain('meter = :m');
    expect(pages).toEqual([{ scanned: 0, entries: [], corrections: [], unfolded: [] }]);
  });
});

describe('recompute store: repairs', () => {
  const drift = (d: Partial<Drift>): Drift => ({
    ref: hour,
    aggregation: 'SUM',
    expected: { value: '10', events: 3 },
    actual: { value: '7', events: 2 },
    ...d,
  });
  const add = { kind: 'add' as const, value: '3', events: 1, putMarkers: [], removeMarkers: [] };

  it('retries an additive repair against the counter as a fold left it, guarded by that new state', async () => {
    const db = fakeDocuments({
      update: (_, n) => (n === 0 ? Promise.reject(conditionFailed()) : {}),
      get: () => ({ Item: { pk: counterPk, sk: 'hour##2026-03-10T05', value: 9, events: 3 } }),
    });
    expect(await new DynamoRecomputeStore(db, tables).repair(drift({}), add)).toBe('repaired');

    const [first, second] = db.inputs('update');
    expect(first.ExpressionAttributeValues).toMatchObject({ ':gevents': 2, ':n': 1 });
    expect(String(first.ExpressionAttributeValues[':gvalue'])).toBe('7');
    expect(second.ExpressionAttributeValues).toMatchObject({ ':gevents': 3, ':n': 1 });
    expect(String(second.ExpressionAttributeValues[':gvalue'])).toBe('9');
    expect(String(second.ExpressionAttributeValues[':add'])).toBe('3');
    expect(db.inputs('get')[0].ConsistentRead).toBe(true);
  });

  it('a counter deleted meanwhile is retried as absent: the write then requires it still absent', async () => {
    const db = fakeDocuments({ update: (_, n) => (n === 0 ? Promise.reject(conditionFailed()) : {}), get: () => ({}) });
    expect(await new DynamoRecomputeStore(db, tables).repair(drift({}), add)).toBe('repaired');
    expect(db.inputs('update')[1].ConditionExpression).toBe('attribute_not_exists(pk)');
  });

  it('reports a conflict after ten lost conditions rather than retrying without end', async () => {
    const db = fakeDocuments({ update: () => Promise.reject(conditionFailed()), get: () => ({ Item: { value: 8, events: 5 } }) });
    expect(await new DynamoRecomputeStore(db, tables).repair(drift({}), add)).toBe('conflict');
    expect(db.inputs('update')).toHaveLength(10);
  });

  it('a UNIQUE_COUNT repair whose transaction lost a condition is a conflict, not retried: the difference is no longer known', async () => {
    const db = fakeDocuments({ transactWrite: () => Promise.reject(cancelled('ConditionalCheckFailed', 'None')) });
    const repair = { ...add, putMarkers: ['amy'], removeMarkers: [] };
    expect(await new DynamoRecomputeStore(db, tables).repair(drift({ aggregation: 'UNIQUE_COUNT' }), repair)).toBe('conflict');
    expect(db.inputs('transactWrite')).toHaveLength(1);
  });

  it('a transaction cancelled for a reason other than a condition (a conflict with another transaction) is surfaced', async () => {
    const db = fakeDocuments({ transactWrite: () => Promise.reject(cancelled('None', 'TransactionConflict')) });
    const repair = { ...add, putMarkers: [], removeMarkers: ['amy'] };
    await expect(new DynamoRecomputeStore(db, tables).repair(drift({ aggregation: 'UNIQUE_COUNT' }), repair)).rejects.toThrow(
      expect.objectContaining({ name: 'TransactionCanceledException' }),
    );
  });

  it('throttling is surfaced, never reported as a conflict', async () => {
    const db = fakeDocuments({ update: () => Promise.reject(throttled()) });
    await expect(new DynamoRecomputeStore(db, tables).repair(drift({}), add)).rejects.toThrow(
      expect.objectContaining({ name: 'ProvisionedThroughputExceededException' }),
    );
  });

  it('a TIME_WEIGHTED repair replaces a changed reading with one put and deletes readings the ledger lacks', async () => {
    const db = fakeDocuments({ transactWrite: () => ({}) });
    const changedOld = '2026-03-10T05:10:00.000Z#2#e1';
    const changedNew = '2026-03-10T05:10:00.000Z#3#e1';
    const gone = '2026-03-10T05:20:00.000Z#1#e2';
    await new DynamoRecomputeStore(db, tables).repair(drift({ aggregation: 'TIME_WEIGHTED' }), {
      ...add,
      putMarkers: [changedNew],
      removeMarkers: [changedOld, gone],
    });
    const [{ TransactItems: items }] = db.inputs('transactWrite');
    expect(items.map((i: any) => Object.keys(i)[0])).toEqual(['Update', 'Put', 'Delete']);
    expect(items[1].Put.Item).toMatchObject({ sk: 'reading##2026-03-10T05:10:00.000Z#e1', value: '3' });
    expect(items[2].Delete.Key.sk).toBe('reading##2026-03-10T05:20:00.000Z#e2');
  });

  it('spreads marker writes over transactions of at most 100 items; the difference goes only with the first', async () => {
    const db = fakeDocuments({ transactWrite: () => ({}) });
    const markers = Array.from({ length: 150 }, (_, i) => `v${String(i).padStart(3, '0')}`);
    const repair = { kind: 'add' as const, value: '150', events: 150, putMarkers: markers, removeMarkers: [] };
    await new DynamoRecomputeStore(db, tables).repair(
      drift({ aggregation: 'UNIQUE_COUNT', expected: { events: 150 }, actual: { events: 0 } }),
      repair,
    );

    const writes = db.inputs('transactWrite');
    expect(writes.map((w) => w.TransactItems.length)).toEqual([100, 52]);
    const [first, second] = writes.map((w) => w.TransactItems[0].Update);
    expect([first.ExpressionAttributeValues[':n'], String(first.ExpressionAttributeValues[':add'])]).toEqual([150, '150']);
    expect(first.ConditionExpression).toBe('attribute_not_exists(pk)');
    // The second slice checks the counter is as the first left it.
    expect([second.ExpressionAttributeValues[':n'], String(second.ExpressionAttributeValues[':add'])]).toEqual([0, '0']);
    expect(second.ExpressionAttributeValues[':gevents']).toBe(150);
    expect(String(second.ExpressionAttributeValues[':gvalue'])).toBe('150');
  });

  it('a LATEST repair sets the rebuilt reading, guarded by the reading it replaces; a lost condition is a conflict', async () => {
    const db = fakeDocuments({ update: () => Promise.reject(conditionFailed()) });
    const latest = drift({
      aggregation: 'LATEST',
      expected: { value: '5', events: 2, latestAt: '2026-03-10T05:30:00.000Z', latestId: 'e2' },
      actual: { value: '4', events: 1, latestAt: '2026-03-10T05:10:00.000Z', latestId: 'e1' },
    });
    const result = await new DynamoRecomputeStore(db, tables).repair(latest, {
      kind: 'set',
      value: '5',
      events: 1,
      latestAt: '2026-03-10T05:30:00.000Z',
      latestId: 'e2',
    });
    expect(result).toBe('conflict');
    const [update] = db.inputs('update');
    expect(update.ConditionExpression).toBe('#events = :gevents AND #value = :gvalue AND latestAt = :gat AND latestId = :gid');
    expect(update.ExpressionAttributeValues).toMatchObject({
      ':gat': '2026-03-10T05:10:00.000Z',
      ':gid': 'e1',
      ':at': '2026-03-10T05:30:00.000Z',
      ':id': 'e2',
    });
  });

  it('a MAX counter with events but no value is set only while it still has no value', async () => {
    const db = fakeDocuments({ update: () => ({}) });
    await new DynamoRecomputeStore(db, tables).repair(
      drift({ aggregation: 'MAX', expected: { value: '9', events: 2 }, actual: { events: 2 } }),
      {
        kind: 'set',
        value: '9',
        events: 0,
      },
    );
    const [update] = db.inputs('update');
    expect(update.ConditionExpression).toBe('#events = :gevents AND attribute_not_exists(#value)');
    expect(update.UpdateExpression).not.toContain('latestAt');
  });

  it('removes a MAX counter the ledger has no event for, only while it holds what was compared', async () => {
    const removing = (actual: Drift['actual']) => drift({ aggregation: 'MAX', expected: { events: 0 }, actual });
    const db = fakeDocuments({ delete: (_, n) => (n === 0 ? {} : Promise.reject(conditionFailed())) });
    const store = new DynamoRecomputeStore(db, tables);
    expect(await store.repair(removing({ value: '4', events: 1 }), { kind: 'remove' })).toBe('repaired');
    expect(await store.repair(removing({ events: 0 }), { kind: 'remove' })).toBe('conflict');

    const [held, absent] = db.inputs('delete');
    expect(held.ConditionExpression).toBe('#events = :gevents AND #value = :gvalue');
    expect(held.Key).toEqual({ pk: counterPk, sk: 'hour##2026-03-10T05' });
    expect(absent).not.toHaveProperty('ExpressionAttributeValues');
    expect(absent).not.toHaveProperty('ExpressionAttributeNames');
  });

  it('an error that is not DynamoDB refusing a condition propagates as it is', async () => {
    const db = fakeDocuments({ delete: () => Promise.reject(awsError('ResourceNotFoundException', 'Requested resource not found')) });
    await expect(
      new DynamoRecomputeStore(db, tables).repair(drift({ aggregation: 'MAX', actual: { events: 0 } }), { kind: 'remove' }),
    ).rejects.toThrow('Requested resource not found');
  });
});
