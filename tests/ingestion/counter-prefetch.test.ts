import { describe, expect, it } from 'vitest';
import { CounterPrefetch } from '../../shared/metering/adapters/counter-prefetch.js';
import type { CounterReads } from '../../shared/metering/ports.js';
import { fakeDocuments } from '../support/fake-documents.js';

/**
 * Counter reads for many tenants at once (the invoice and report jobs): the totals that tile each period read ahead in
 * batches, answered from memory, and anything not read ahead asked of the per-tenant reader.
 */
const MARCH = { start: Date.parse('2026-03-01T00:00:00Z'), end: Date.parse('2026-04-01T00:00:00Z') };

function prefetch(items: Record<string, unknown>[]) {
  const db = fakeDocuments({ batchGet: () => ({ Responses: { counters: items } }) });
  const asked: unknown[][] = [];
  const inner = {
    values: async (...args: unknown[]) => (asked.push(args), [{ period: 'inner', value: '1', events: 1 }]),
  } as unknown as CounterReads;
  return { db, asked, reads: new CounterPrefetch(db, 'counters', inner) };
}

describe('counter prefetch', () => {
  it('answers a period read ahead from memory, a counter that does not exist as no row, one without a value as 0', async () => {
    const { reads, asked, db } = prefetch([{ pk: 't1#tokens', sk: 'month##2026-03', events: 4 }]);
    await reads.prefetch([
      { tenantId: 't1', meter: { key: 'tokens', aggregation: 'SUM' }, period: MARCH },
      { tenantId: 't2', meter: { key: 'tokens', aggregation: 'SUM' }, period: MARCH },
    ]);
    expect(await reads.values('t1', 'tokens', 'month', '2026-03', '2026-03')).toEqual([{ period: '2026-03', value: '0', events: 4 }]);
    expect(await reads.values('t2', 'tokens', 'month', '2026-03', '2026-03')).toEqual([]);
    expect(asked).toEqual([]);
    // A second prefetch of what was read asks DynamoDB for nothing new.
    await reads.prefetch([{ tenantId: 't1', meter: { key: 'tokens', aggregation: 'SUM' }, period: MARCH }]);
    expect(db.inputs('batchGet')).toHaveLength(1);
  });

  it('asks the per-tenant reader for a range not read ahead, and reads no counters ahead for gauges', async () => {
    const { reads, asked, db } = prefetch([]);
    await reads.prefetch([{ tenantId: 't1', meter: { key: 'storage', aggregation: 'LATEST' }, period: MARCH }]);
    expect(db.inputs('batchGet')).toEqual([]);
    expect(await reads.values('t1', 'storage', 'month', '2026-03', '2026-03')).toEqual([{ period: 'inner', value: '1', events: 1 }]);
    expect(asked).toEqual([['t1', 'storage', 'month', '2026-03', '2026-03']]);
  });
});
