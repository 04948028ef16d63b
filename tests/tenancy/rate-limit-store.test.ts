import { describe, expect, it } from 'vitest';
import { DynamoRateLimitStore } from '../../shared/tenancy/adapters/rate-limit-store.js';
import { awsError, conditionFailed, type DocumentsScript, fakeDocuments, throttled } from '../support/fake-documents.js';

/**
 * The rate limit counters against DynamoDB's answers: a failed condition returns the item as it stood (wire format,
 * `{ N: "3" }`), which tells a full window from an old one or one another instance started ahead; a subject's
 * partition throttled in a flood; a window that keeps moving.
 */
const WINDOW = 1_000;
/** A failed condition with the counter as it stood. */
const lost = (item?: Record<string, { N: string }>) => Object.assign(conditionFailed(), item ? { Item: item } : {});
const store = (update: DocumentsScript['update']) => {
  const db = fakeDocuments({ update });
  return { db, limits: new DynamoRateLimitStore(db, 'rate-limits') };
};

describe('rate limit store', () => {
  it('counts a request in the current window, under the limit an admin set', async () => {
    const { limits } = store(() => ({ Attributes: { used: 4, limit: 50 } }));
    expect(await limits.take('t1', 'ingest', WINDOW, 10)).toEqual({ allowed: true, used: 4, limit: 50 });
  });

  it('refuses a full window, with its count and limit as DynamoDB returned them', async () => {
    const { limits, db } = store(() => Promise.reject(lost({ windowStart: { N: String(WINDOW) }, used: { N: '50' }, limit: { N: '50' } })));
    expect(await limits.take('t1', 'ingest', WINDOW, 10)).toEqual({ allowed: false, used: 50, limit: 50 });
    expect(db.inputs('update')).toHaveLength(1);
  });

  it('starts the new window over an old one: one more write, the count at one', async () => {
    const { limits, db } = store((_, n) =>
      n === 0 ? Promise.reject(lost({ windowStart: { N: String(WINDOW - 1) }, used: { N: '10' } })) : { Attributes: {} },
    );
    expect(await limits.take('t1', 'read', WINDOW, 10)).toEqual({ allowed: true, used: 1, limit: 10 });
    expect(db.inputs('update')[1]).toMatchObject({
      UpdateExpression: 'SET #window = :window, #used = :one',
      ConditionExpression: 'attribute_not_exists(#window) OR #window < :window',
      ExpressionAttributeValues: { ':window': WINDOW },
    });
  });

  it("a subject's first request starts its first window", async () => {
    const { limits } = store((_, n) => (n === 0 ? Promise.reject(lost()) : { Attributes: { limit: 3 } }));
    expect(await limits.take('t1', 'ingest', WINDOW, 10)).toEqual({ allowed: true, used: 1, limit: 3 });
  });

  it('counts in the window another instance started ahead (its clock a second ahead)', async () => {
    const { limits, db } = store((_, n) =>
      n === 0 ? Promise.reject(lost({ windowStart: { N: String(WINDOW + 1) }, used: { N: '2' } })) : { Attributes: { used: 3 } },
    );
    expect(await limits.take('t1', 'ingest', WINDOW, 10)).toEqual({ allowed: true, used: 3, limit: 10 });
    expect(db.inputs('update')[1].ExpressionAttributeValues[':window']).toBe(WINDOW + 1);
  });

  it('when another instance started the new window first, the request is counted in it', async () => {
    const old = lost({ windowStart: { N: String(WINDOW - 1) } });
    const { limits, db } = store((_, n) => (n < 2 ? Promise.reject(n === 0 ? old : conditionFailed()) : { Attributes: { used: 2 } }));
    expect(await limits.take('t1', 'ingest', WINDOW, 10)).toEqual({ allowed: true, used: 2, limit: 10 });
    expect(db.inputs('update').map((u) => u.UpdateExpression)).toEqual([
      'ADD #used :one',
      'SET #window = :window, #used = :one',
      'ADD #used :one',
    ]);
  });

  it("a subject's partition throttled in a flood refuses the request at the default limit, at either write", async () => {
    const first = store(() => Promise.reject(throttled()));
    expect(await first.limits.take('t1', 'ingest', WINDOW, 10)).toEqual({ allowed: false, used: 10, limit: 10 });
    const second = store((_, n) =>
      Promise.reject(n === 0 ? lost({ windowStart: { N: '1' } }) : awsError('ThrottlingException', 'Rate exceeded')),
    );
    expect(await second.limits.take('t1', 'ingest', WINDOW, 10)).toEqual({ allowed: false, used: 10, limit: 10 });
  });

  it('any other fault is surfaced, at either write', async () => {
    const denied = () => awsError('AccessDeniedException', 'not authorized');
    await expect(store(() => Promise.reject(denied())).limits.take('t1', 'ingest', WINDOW, 10)).rejects.toThrow('not authorized');
    const second = store((_, n) => Promise.reject(n === 0 ? lost({ windowStart: { N: '1' } }) : denied()));
    await expect(second.limits.take('t1', 'ingest', WINDOW, 10)).rejects.toThrow('not authorized');
  });

  it('gives up with an error after three rounds if the window keeps moving', async () => {
    const { limits, db } = store((input) =>
      Promise.reject(input.UpdateExpression!.startsWith('ADD') ? lost({ windowStart: { N: '1' } }) : conditionFailed()),
    );
    await expect(limits.take('t1', 'ingest', WINDOW, 10)).rejects.toThrow('the window kept moving under three rounds of writes');
    expect(db.inputs('update')).toHaveLength(6);
  });

  it("reads a subject's limits, leaving out counters without one and buckets it does not know", async () => {
    const db = fakeDocuments({
      query: () => ({
        Items: [
          { pk: 't1', sk: 'ingest', limit: 50 },
          { pk: 't1', sk: 'read', used: 3 },
          { pk: 't1', sk: 'export', limit: 9 },
        ],
      }),
    });
    expect(await new DynamoRateLimitStore(db, 'rate-limits').limits('t1')).toEqual({ ingest: 50 });
  });

  it('sets a limit, clears one given as null, and leaves one not given alone', async () => {
    const { limits, db } = store(() => ({}));
    await limits.setLimits('t1', { ingest: 50, read: null });
    expect(db.inputs('update').map((u) => [u.Key.sk, u.UpdateExpression, u.ExpressionAttributeValues])).toEqual([
      ['ingest', 'SET #limit = :limit', { ':limit': 50 }],
      ['read', 'REMOVE #limit', undefined],
    ]);
    await limits.setLimits('t1', { ingest: undefined });
    expect(db.inputs('update')).toHaveLength(2);
  });
});
