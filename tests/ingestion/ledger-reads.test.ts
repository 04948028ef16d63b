import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DynamoLedgerReader } from '../../shared/metering/adapters/ledger-reader.js';
import { DynamoRejectionStore } from '../../shared/metering/adapters/rejection-store.js';
import type { RejectionBatch } from '../../shared/metering/ports.js';
import { fakeDocuments } from '../support/fake-documents.js';

/**
 * The ledger's and the rejection log's reads against DynamoDB's answers: unprocessed batch keys asked for again,
 * pages followed and handed out as cursors bound to their query, requests split across pages, empty answers.
 */
describe('ledger reader', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('asks again for the keys DynamoDB left unprocessed, and gives up after three rounds rather than hold ingest', async () => {
    const db = fakeDocuments({
      batchGet: (input, n) => {
        const keys = input.RequestItems!.events!.Keys!;
        if (n === 0)
          return { Responses: { events: [{ id: 'e1', payloadHash: 'h1' }] }, UnprocessedKeys: { events: { Keys: keys.slice(1) } } };
        // Under sustained throttling DynamoDB keeps some back: what was not read is simply not known as existing.
        return { Responses: { events: [{ id: 'e2' }] }, UnprocessedKeys: { events: { Keys: keys.slice(1) } } };
      },
    });
    const read = new DynamoLedgerReader(db, 'events').existing('t1', ['e1', 'e2', 'e3', 'e1']);
    await vi.runAllTimersAsync();
    expect(await read).toEqual(
      new Map([
        ['e1', 'h1'],
        ['e2', ''],
      ]),
    );
    expect(db.inputs('batchGet').map((b) => b.RequestItems.events.Keys.map((k: { pk: string }) => k.pk))).toEqual([
      ['t1#e1', 't1#e2', 't1#e3'],
      ['t1#e2', 't1#e3'],
      ['t1#e3'],
    ]);
  });

  it("lists every tenant's quarantined events filtered by receipt time, and continues from a cursor bound to that query", async () => {
    const start = { pk: 't1#e1', gsi1pk: 'quarantined', gsi1sk: 't1#2026-03-10T05:00:00.000Z' };
    const db = fakeDocuments({
      query: (_, n) => (n === 0 ? { Items: [{ pk: 't1#e1', id: 'e1', status: 'quarantined' }], LastEvaluatedKey: start } : {}),
    });
    const reader = new DynamoLedgerReader(db, 'events');
    const q = { from: '2026-03-10T00:00:00.000Z', to: '2026-03-11T00:00:00.000Z', limit: 1 };
    const first = await reader.quarantined(q);
    expect(first.items).toEqual([{ id: 'e1', status: 'quarantined' }]);
    expect(db.inputs('query')[0]).toMatchObject({
      KeyConditionExpression: 'gsi1pk = :q',
      FilterExpression: 'receivedAt BETWEEN :from AND :to',
    });
    expect(await reader.quarantined({ ...q, cursor: first.cursor })).toEqual({ items: [] });
    expect(db.inputs('query')[1].ExclusiveStartKey).toEqual(start);
    // One tenant's listing does not take a cursor of every tenant's.
    await expect(reader.quarantined({ ...q, tenantId: 't1', cursor: first.cursor })).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
      field: 'cursor',
    });
  });

  it('an event not in the ledger is absent', async () => {
    expect(await new DynamoLedgerReader(fakeDocuments({ get: () => ({}) }), 'events').get('t1', 'e1')).toBeUndefined();
  });
});

describe('rejection store', () => {
  const batch = (requestId: string, receivedAt: string, count: number): RejectionBatch => ({
    tenantId: 't1',
    requestId,
    receivedAt,
    rejections: Array.from({ length: count }, (_, i) =>
      i === 0
        ? {
            index: i,
            code: 'UNKNOWN_METER',
            message: 'no meter gpu',
            id: `${requestId}-${i}`,
            field: 'type',
            event: `{"id":"${requestId}-${i}"}`,
          }
        : { index: i, code: 'INVALID_VALUE', message: 'not a number' },
    ),
  });

  /** A table of the items `record` wrote, answered newest first a page of `pageSize` at a time. */
  async function recorded(batches: RejectionBatch[], pageSize: number) {
    const items: Record<string, unknown>[] = [];
    const writer = new DynamoRejectionStore(fakeDocuments({ put: (input) => void items.push(input.Item!) }), 'rejections', 35);
    for (const b of batches) await writer.record(b);
    const newestFirst = [...items].sort((a, b) => String(b.sk).localeCompare(String(a.sk)));
    const db = fakeDocuments({
      query: (input) => {
        const to = String(input.ExpressionAttributeValues![':to']);
        const from = Number(input.ExclusiveStartKey?.at ?? 0);
        const matching = (input.ScanIndexForward === false ? newestFirst : [...newestFirst].reverse()).filter((i) => String(i.sk) <= to);
        const page = matching.slice(from, from + pageSize);
        return { Items: page, ...(from + pageSize < matching.length ? { LastEvaluatedKey: { at: from + pageSize } } : {}) };
      },
    });
    return { items, store: new DynamoRejectionStore(db, 'rejections', 35) };
  }

  it('a request without rejections writes nothing', async () => {
    const db = fakeDocuments({});
    await new DynamoRejectionStore(db, 'rejections', 35).record(batch('r0', '2026-03-10T05:00:00.000Z', 0));
    expect(db.calls).toEqual([]);
  });

  it('lists rejections newest request first over DynamoDB pages, a cursor splitting a request where the page ended', async () => {
    const { store } = await recorded([batch('r1', '2026-03-10T05:00:00.000Z', 2), batch('r2', '2026-03-10T06:00:00.000Z', 3)], 1);
    const q = { tenantId: 't1', from: '2026-03-10', to: '2026-03-11', limit: 4 };
    const first = await store.list(q);
    expect(first.items.map((r) => [r.requestId, r.index])).toEqual([
      ['r2', 0],
      ['r2', 1],
      ['r2', 2],
      ['r1', 0],
    ]);
    expect(first.items[0]).toEqual({
      index: 0,
      id: 'r2-0',
      code: 'UNKNOWN_METER',
      field: 'type',
      message: 'no meter gpu',
      receivedAt: '2026-03-10T06:00:00.000Z',
      requestId: 'r2',
    });
    expect(first.items[1]).not.toHaveProperty('id');
    expect(first.items[1]).not.toHaveProperty('field');
    const rest = await store.list({ ...q, cursor: first.cursor });
    expect(rest).toEqual({ items: [expect.objectContaining({ requestId: 'r1', index: 1 })] });
  });

  it('keeps the events as sent of one code only, oldest first, over every page', async () => {
    const { store } = await recorded([batch('r1', '2026-03-10T05:00:00.000Z', 2), batch('r2', '2026-03-10T06:00:00.000Z', 2)], 1);
    expect(await store.keptEvents({ tenantId: 't1', code: 'UNKNOWN_METER', from: '2026-03-10', to: '2026-03-11' })).toEqual([
      '{"id":"r1-0"}',
      '{"id":"r2-0"}',
    ]);
    expect(await store.keptEvents({ tenantId: 't1', code: 'INVALID_VALUE', from: '2026-03-10', to: '2026-03-11' })).toEqual([]);
  });
});
