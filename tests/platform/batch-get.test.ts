import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { batchGetAll } from '../../shared/platform/dynamo/batch-get.js';
import { fakeDocuments } from '../support/fake-documents.js';

/** Reading many keys against DynamoDB's answers: 100 keys a request, unprocessed keys asked for again after a backoff. */
describe('batchGetAll', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('asks 100 keys a request and asks again for those DynamoDB left unprocessed until none is left', async () => {
    const keys = Array.from({ length: 150 }, (_, i) => ({ pk: `k${i}` }));
    const db = fakeDocuments({
      batchGet: (input) => {
        const asked = input.RequestItems!.items!.Keys!;
        // Throttled: DynamoDB answers the first 60 keys of each request and leaves the rest for later.
        return {
          Responses: { items: asked.slice(0, 60) },
          ...(asked.length > 60 ? { UnprocessedKeys: { items: { Keys: asked.slice(60) } } } : {}),
        };
      },
    });
    const read = batchGetAll(db, 'items', keys, { concurrency: 1, projection: '#v', names: { '#v': 'value' } });
    await vi.runAllTimersAsync();
    expect((await read).map((i) => i.pk).sort()).toEqual(keys.map((k) => k.pk).sort());
    expect(db.inputs('batchGet').map((b) => b.RequestItems.items.Keys.length)).toEqual([100, 40, 50]);
    expect(db.inputs('batchGet')[0].RequestItems.items).toMatchObject({
      ProjectionExpression: '#v',
      ExpressionAttributeNames: { '#v': 'value' },
    });
  });

  it('keys that do not exist are simply not among the items; no keys is no request', async () => {
    const db = fakeDocuments({ batchGet: () => ({}) });
    expect(await batchGetAll(db, 'items', [{ pk: 'gone' }])).toEqual([]);
    expect(db.inputs('batchGet')[0].RequestItems.items).not.toHaveProperty('ProjectionExpression');
    expect(await batchGetAll(db, 'items', [])).toEqual([]);
    expect(db.inputs('batchGet')).toHaveLength(1);
  });
});
