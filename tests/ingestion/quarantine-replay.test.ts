import { describe, expect, it } from 'vitest';
import { DynamoQuarantineReplay } from '../../shared/metering/adapters/quarantine-replay.js';
import type { UsageEvent } from '../../shared/metering/events.js';
import type { CommitOutcome, LedgerEntry } from '../../shared/metering/ports.js';
import { fakeDocuments } from '../support/fake-documents.js';

/** Replaying a quarantined event, each outcome the writer can give, and what the ledger entry keeps of a refusal. */
const event = {
  tenantId: 't1',
  id: 'e1',
  meter: 'tokens',
  aggregation: 'SUM',
  timestamp: '2026-03-10T05:00:00.000Z',
  value: '1',
  groupKey: '',
  payloadHash: 'h',
  receivedAt: '2026-03-10T05:00:01.000Z',
} as UsageEvent;
const quarantined = {
  ...event,
  status: 'quarantined',
  quarantinedAt: '2026-03-10T05:00:02.000Z',
  quarantineReason: 'old reason',
} as LedgerEntry;
const none: CommitOutcome = { counted: [], duplicates: [], reused: [], quarantined: [], failed: [], writeUnits: 0 };

function replay(entry: LedgerEntry | undefined, outcome: Partial<CommitOutcome>) {
  const db = fakeDocuments({ update: () => ({}) });
  const folded: UsageEvent[] = [];
  const replayer = new DynamoQuarantineReplay(db, {
    eventsTable: 'events',
    ledger: { get: async () => entry },
    writer: { foldQuarantined: async (e) => (folded.push(e), { ...none, ...outcome }) },
    now: () => Date.parse('2026-03-11T00:00:00Z'),
  });
  return { db, folded, run: () => replayer.replay('t1', 'e1') };
}

describe('quarantine replay', () => {
  it('an event not in the ledger, or counted, is not quarantined: nothing is folded', async () => {
    for (const entry of [undefined, { ...quarantined, status: 'counted' } as LedgerEntry]) {
      const r = replay(entry, {});
      expect(await r.run()).toEqual({ status: 'not-quarantined' });
      expect(r.folded).toEqual([]);
    }
  });

  it('folds the event as it was sent, without its quarantine fields, and answers counted', async () => {
    const r = replay(quarantined, { counted: [event] });
    expect(await r.run()).toEqual({ status: 'counted' });
    expect(r.folded).toEqual([event]);
    expect(r.db.calls).toEqual([]);
  });

  it('one still refused keeps its entry with the new reason (cut to 1 KB) and when the replay failed', async () => {
    const reason = `DynamoDB refused the write: ${'x'.repeat(2_000)}`;
    const r = replay(quarantined, { quarantined: [{ event, reason }] });
    expect(await r.run()).toEqual({ status: 'quarantined', reason });
    expect(r.db.inputs('update')[0]).toMatchObject({
      Key: { pk: 't1#e1' },
      ConditionExpression: '#status = :q',
      ExpressionAttributeValues: { ':reason': reason.slice(0, 1024), ':at': '2026-03-11T00:00:00.000Z', ':q': 'quarantined' },
    });
  });

  it('a replay another replay counted first is a duplicate; one whose writes failed says so', async () => {
    expect(await replay(quarantined, { duplicates: [event] }).run()).toEqual({ status: 'duplicate' });
    expect(await replay(quarantined, { failed: [event] }).run()).toEqual({ status: 'failed' });
  });
});
