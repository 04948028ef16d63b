import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DynamoCorrectionStore, type Ledgered } from '../../shared/metering/adapters/correction-store.js';
import type { Correction } from '../../shared/metering/corrections.js';
import type { UsageEvent } from '../../shared/metering/events.js';
import { awsError, cancelled, fakeDocuments, throttled } from '../support/fake-documents.js';

/**
 * Corrections against DynamoDB's answers: the same correction committed meanwhile, the entry corrected by another
 * correction meanwhile, throttling in any of DynamoDB's words, and refusals. Backoffs run on fake timers.
 */
const tables = { eventsTable: 'events', countersTable: 'counters' };
const event: UsageEvent = {
  tenantId: 't1',
  id: 'e1',
  meter: 'tokens',
  aggregation: 'SUM',
  timestamp: '2026-03-10T05:00:00.000Z',
  value: '5',
  groupKey: '',
  payloadHash: 'h',
  receivedAt: '2026-03-10T05:00:01.000Z',
};
const entry: Ledgered = { ...event, status: 'counted', expiresAt: 1_800_000_000 };
const voiding = (e: Ledgered): Correction => ({
  correctionId: 'c1',
  tenantId: 't1',
  eventId: e.id,
  action: 'void',
  correctedAt: '2026-03-11T00:00:00.000Z',
  by: 'tenant',
  before: e,
});
const replacing = (e: Ledgered): Correction => ({ ...voiding(e), action: 'replace', after: { ...e, value: '7', properties: '{"a":1}' } });

async function settle<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  await vi.runAllTimersAsync();
  return p;
}

/** A ledger of one entry whose correction record is absent until `taken` says so. */
function ledger(answers: { entry?: Ledgered; taken?: (n: number) => boolean; transactWrite: (n: number) => unknown }) {
  let gets = 0;
  return fakeDocuments({
    get: (input) => {
      if (String(input.Key!.pk).startsWith('correction#'))
        return answers.taken?.(gets++) ? { Item: { pk: input.Key!.pk, ...voiding(entry) } } : {};
      return answers.entry ? { Item: answers.entry } : {};
    },
    transactWrite: (_, n) => answers.transactWrite(n),
  });
}

describe('correction store', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('retries a transaction cancelled for throughput in any of the reasons DynamoDB gives, as every other writer does', async () => {
    const faults = [
      cancelled('None', 'ProvisionedThroughputExceeded', 'None'),
      cancelled('None', 'None', 'RequestLimitExceeded'),
      awsError('TransactionConflictException'),
    ];
    const db = ledger({ entry, transactWrite: (n) => (n < faults.length ? Promise.reject(faults[n]) : {}) });
    const outcome = await settle(new DynamoCorrectionStore(db, tables).apply('t1', 'c1', 'e1', voiding));
    expect(outcome).toMatchObject({ duplicate: false, correction: { action: 'void' } });
    expect(db.inputs('transactWrite')).toHaveLength(4);
  });

  it('a correction committed by an earlier attempt whose answer was lost is a duplicate, the counters moved once', async () => {
    const db = ledger({
      entry,
      taken: (n) => n > 0,
      transactWrite: () => Promise.reject(cancelled('ConditionalCheckFailed', 'None', 'None')),
    });
    const outcome = await settle(new DynamoCorrectionStore(db, tables).apply('t1', 'c1', 'e1', voiding));
    expect(outcome.duplicate).toBe(true);
    expect(db.inputs('transactWrite')).toHaveLength(1);
  });

  it('an entry another correction moved is read again and decided again, conditional on its new revision', async () => {
    let revision: number | undefined;
    const db = fakeDocuments({
      get: (input) => (String(input.Key!.pk).startsWith('correction#') ? {} : { Item: { ...entry, ...(revision ? { revision } : {}) } }),
      transactWrite: (_, n) => {
        if (n > 0) return {};
        revision = 1;
        return Promise.reject(cancelled('None', 'ConditionalCheckFailed', 'None'));
      },
    });
    const outcome = await settle(new DynamoCorrectionStore(db, tables).apply('t1', 'c1', 'e1', replacing));
    expect(outcome.correction.after?.value).toBe('7');
    const [first, second] = db.inputs('transactWrite').map((t) => t.TransactItems[1].Update);
    expect(first.ConditionExpression).toBe('attribute_exists(pk) AND attribute_not_exists(revision)');
    expect(second).toMatchObject({
      ConditionExpression: 'revision = :revision',
      ExpressionAttributeValues: { ':revision': 1, ':next': 2, ':properties': '{"a":1}' },
    });
    expect(second.UpdateExpression).toContain('properties = :properties');
  });

  it('throttling that outlasts the attempts is surfaced', async () => {
    const db = ledger({ entry, transactWrite: () => Promise.reject(throttled()) });
    await expect(settle(new DynamoCorrectionStore(db, tables, 3).apply('t1', 'c1', 'e1', voiding))).rejects.toThrow(
      expect.objectContaining({ name: 'ProvisionedThroughputExceededException' }),
    );
    expect(db.inputs('transactWrite')).toHaveLength(3);
  });

  it('DynamoDB refusing the data is surfaced at once', async () => {
    const db = ledger({ entry, transactWrite: () => Promise.reject(cancelled('None', 'None', 'ValidationError')) });
    await expect(settle(new DynamoCorrectionStore(db, tables).apply('t1', 'c1', 'e1', voiding))).rejects.toThrow(
      expect.objectContaining({ name: 'TransactionCanceledException' }),
    );
    expect(db.inputs('transactWrite')).toHaveLength(1);
  });

  it('refuses an event not in the ledger, voided or quarantined, naming the field', async () => {
    const store = (e?: Ledgered) => new DynamoCorrectionStore(ledger({ entry: e, transactWrite: () => ({}) }), tables);
    await expect(store(undefined).apply('t1', 'c1', 'e1', voiding)).rejects.toMatchObject({ code: 'NOT_FOUND', field: 'id' });
    await expect(store({ ...entry, voidedAt: '2026-03-10T06:00:00.000Z' }).apply('t1', 'c1', 'e1', voiding)).rejects.toMatchObject({
      code: 'CONFLICT',
      field: 'id',
      message: expect.stringContaining('voided'),
    });
    await expect(store({ ...entry, status: 'quarantined' }).apply('t1', 'c1', 'e1', voiding)).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringContaining('quarantined'),
    });
  });

  it('a correction id used for another event is a conflict on correctionId', async () => {
    const db = ledger({ entry, taken: () => true, transactWrite: () => ({}) });
    await expect(new DynamoCorrectionStore(db, tables).apply('t1', 'c1', 'e2', voiding)).rejects.toMatchObject({
      code: 'CONFLICT',
      field: 'correctionId',
    });
  });
});
