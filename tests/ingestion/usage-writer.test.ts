import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DynamoUsageWriter } from '../../shared/metering/adapters/usage-writer.js';
import type { UsageEvent } from '../../shared/metering/events.js';
import type { UsageMessage } from '../../shared/metering/ports.js';
import { awsError, cancelled, conditionFailed, type DocumentsScript, fakeDocuments, throttled } from '../support/fake-documents.js';

/**
 * The exactly-once writer against DynamoDB's answers in the cases the stack's fault tests do not reach: DynamoDB
 * refusing one event's data inside a transaction of several messages or of one unit, the split receipt or the
 * quarantine losing to another delivery, throttling outlasting the attempts at each step. Backoffs run on fake timers.
 */
const options = {
  eventsTable: 'events',
  countersTable: 'counters',
  ledgerRetentionDays: 35,
  maxAttempts: 3,
  now: () => Date.parse('2026-03-10T09:00:00Z'),
};
const event = (id: string, more: Partial<UsageEvent> = {}): UsageEvent => ({
  tenantId: 't1',
  id,
  meter: 'tokens',
  aggregation: 'SUM',
  timestamp: '2026-03-10T05:00:00.000Z',
  value: '1',
  groupKey: '',
  payloadHash: `hash-${id}`,
  receivedAt: '2026-03-10T05:00:01.000Z',
  ...more,
});
/** An event DynamoDB refuses to fold (alone in its hour, so its hour counter adds exactly 999), in its own words. */
const poison = event('p', { value: '999', timestamp: '2026-03-10T07:00:00.000Z' });
const refusal = 'Item size has exceeded the maximum allowed size';

/** Refuses, as DynamoDB refuses bad data, every transaction that would fold the poison event. */
const refusePoison: DocumentsScript['transactWrite'] = (input) => {
  const items = input.TransactItems ?? [];
  const refused = items.map((t) =>
    String(t.Update?.ExpressionAttributeValues?.[':add']) === '999' ? { Code: 'ValidationError', Message: refusal } : 'None',
  );
  return refused.every((r) => r === 'None') ? {} : Promise.reject(cancelled(...refused));
};

const ledger = (more: DocumentsScript = {}) => fakeDocuments({ put: () => ({}), update: () => ({}), transactWrite: refusePoison, ...more });
const message = (id: string, ...events: UsageEvent[]): UsageMessage => ({ id, events });
const ids = (events: UsageEvent[]) => events.map((e) => e.id).sort();

async function settle<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  await vi.runAllTimersAsync();
  return p;
}

describe('usage writer: DynamoDB refusing an event inside a fold', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('a transaction of several messages is halved until the refused event stands alone; it alone is quarantined', async () => {
    const db = ledger();
    const outcome = await settle(new DynamoUsageWriter(db, options).commit([message('m1', event('e1')), message('m2', poison)]));

    expect(ids(outcome.counted)).toEqual(['e1']);
    expect(outcome.quarantined).toEqual([{ event: poison, reason: expect.stringContaining(refusal) }]);
    expect(outcome.failed).toEqual([]);
    // Both messages' folds went in one transaction first, then each alone.
    expect(db.inputs('transactWrite').map((t) => t.TransactItems.filter((i: any) => i.Put).length)).toEqual([2, 1, 1]);
    // The claimed entry turns quarantined only while this message's unit still holds it as counted.
    expect(db.inputs('update')[0]).toMatchObject({
      Key: { pk: 't1#p' },
      ConditionExpression: 'claimedBy = :by AND #status = :counted',
      ExpressionAttributeValues: { ':by': 'm2#0', ':q': 'quarantined' },
    });
  });

  it('a unit refused whole is marked split before its halves are folded, so no redelivery folds it whole', async () => {
    const db = ledger();
    const outcome = await settle(new DynamoUsageWriter(db, options).commit([message('m1', event('e1'), poison)]));

    expect(ids(outcome.counted)).toEqual(['e1']);
    expect(outcome.quarantined.map((q) => q.event.id)).toEqual(['p']);
    const receipt = db.inputs('put').find((p) => p.Item.split);
    expect(receipt).toMatchObject({ Item: { pk: '#fold#m1#0', split: true }, ConditionExpression: 'attribute_not_exists(pk)' });
    expect(db.inputs('transactWrite').map((t) => t.TransactItems[0].Put.Item.pk)).toEqual(['#fold#m1#0', '#fold#m1#0.0', '#fold#m1#0.1']);
  });

  it('a split receipt another delivery wrote first is followed: the halves are folded', async () => {
    const db = ledger({
      put: (input) =>
        input.Item!.split
          ? Promise.reject(Object.assign(conditionFailed(), { Item: { pk: { S: '#fold#m1#0' }, split: { BOOL: true } } }))
          : {},
    });
    const outcome = await settle(new DynamoUsageWriter(db, options).commit([message('m1', event('e1'), poison)]));
    expect(ids(outcome.counted)).toEqual(['e1']);
    expect(outcome.quarantined.map((q) => q.event.id)).toEqual(['p']);
  });

  it('a whole receipt found instead means another delivery folded the unit: its events are duplicates, nothing more written', async () => {
    const db = ledger({
      put: (input) => (input.Item!.split ? Promise.reject(Object.assign(conditionFailed(), { Item: { pk: { S: '#fold#m1#0' } } })) : {}),
    });
    const outcome = await settle(new DynamoUsageWriter(db, options).commit([message('m1', event('e1'), poison)]));
    expect(ids(outcome.duplicates)).toEqual(['e1', 'p']);
    expect(outcome.counted).toEqual([]);
    expect(db.inputs('transactWrite')).toHaveLength(1);
  });

  it('a split receipt that cannot be written fails the unit for redelivery, counting nothing of it', async () => {
    const db = ledger({ put: (input) => (input.Item!.split ? Promise.reject(throttled()) : {}) });
    const outcome = await settle(new DynamoUsageWriter(db, options).commit([message('m1', event('e1'), poison)]));
    expect(ids(outcome.failed)).toEqual(['e1', 'p']);
    expect(outcome.counted).toEqual([]);
    expect(db.inputs('put').filter((p) => p.Item.split)).toHaveLength(3);
  });

  it('an entry another delivery quarantined first is a duplicate; one that cannot be quarantined fails for redelivery', async () => {
    const lost = ledger({ update: () => Promise.reject(conditionFailed()) });
    const first = await settle(new DynamoUsageWriter(lost, options).commit([message('m2', poison)]));
    expect([first.duplicates, first.quarantined, first.failed]).toEqual([[poison], [], []]);

    const throttledDb = ledger({ update: () => Promise.reject(throttled()) });
    const second = await settle(new DynamoUsageWriter(throttledDb, options).commit([message('m2', poison)]));
    expect([second.failed, second.quarantined]).toEqual([[poison], []]);
    expect(throttledDb.inputs('update')).toHaveLength(3);
  });

  it('a quarantined event replayed while DynamoDB still refuses it stays quarantined, with the reason', async () => {
    const db = ledger();
    const outcome = await settle(new DynamoUsageWriter(db, options).foldQuarantined(poison));
    expect(outcome.quarantined).toEqual([{ event: poison, reason: expect.stringContaining(refusal) }]);
    expect(outcome.counted).toEqual([]);
    // A replay's guard turns the entry from quarantined to counted: nothing else to undo.
    expect(db.inputs('transactWrite')[0].TransactItems[0].Put.ConditionExpression).toBe('#status = :q');
    expect(db.inputs('update')).toHaveLength(0);
  });
});

describe('usage writer: claims', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('a message repeating an id counts it once: the same payload is a duplicate, another payload a reuse', async () => {
    const db = ledger();
    const e1 = event('e1');
    const outcome = await settle(
      new DynamoUsageWriter(db, options).commit([message('m1', e1, { ...e1 }, { ...e1, value: '2', payloadHash: 'other' })]),
    );
    expect(outcome.counted).toEqual([e1]);
    expect(outcome.duplicates).toEqual([e1]);
    expect(outcome.reused.map((e) => e.payloadHash)).toEqual(['other']);
    expect(db.inputs('put')).toHaveLength(1);
  });

  it('a claim throttled past its attempts fails its message for redelivery; other messages of the batch are counted', async () => {
    const db = ledger({ put: (input) => (input.Item!.id === 'e1' ? Promise.reject(throttled()) : {}) });
    const outcome = await settle(
      new DynamoUsageWriter(db, options).commit([message('m1', event('e1'), event('e2')), message('m2', event('e3'))]),
    );
    // e2's claim was made: it stays claimed for m1's redelivery to fold, and is reported failed with e1.
    expect(ids(outcome.failed)).toEqual(['e1', 'e2']);
    expect(ids(outcome.counted)).toEqual(['e3']);
    expect(db.inputs('put').filter((p) => p.Item.id === 'e1')).toHaveLength(3);
  });

  it("a ledger entry naming no claimant is another message's: a duplicate when the payload matches, a reuse when not", async () => {
    const stored = { pk: { S: 't1#e1' }, status: { S: 'counted' }, payloadHash: { S: 'hash-e1' } };
    const db = ledger({ put: () => Promise.reject(Object.assign(conditionFailed(), { Item: stored })) });
    const outcome = await settle(new DynamoUsageWriter(db, options).commit([message('m1', event('e1'), event('e2'))]));
    expect(ids(outcome.duplicates)).toEqual(['e1']);
    expect(ids(outcome.reused)).toEqual(['e2']);
    expect(db.inputs('transactWrite')).toHaveLength(0);
  });

  it('a claim DynamoDB answers with an error it never retries fails at once', async () => {
    const db = ledger({ put: () => Promise.reject(awsError('AccessDeniedException', 'not authorized to perform: dynamodb:PutItem')) });
    const outcome = await settle(new DynamoUsageWriter(db, options).commit([message('m1', event('e1'))]));
    expect(outcome.failed).toEqual([event('e1')]);
    expect(db.inputs('put')).toHaveLength(1);
  });
});
