import { describe, expect, it } from 'vitest';
import { DynamoSimulationJobs } from '../../shared/billing/adapters/simulation-jobs.js';
import type { FleetSimulationJob, SimulationPage } from '../../shared/billing/fleet-simulation-job.js';
import { conditionFailed, fakeDocuments, throttled } from '../support/fake-documents.js';

/**
 * Fleet simulation jobs' storage against DynamoDB's answers: a page an earlier attempt wrote answered as stored,
 * throttling surfaced, pages read a window at a time, a claim with nothing to do, open jobs indexed and done ones not.
 */
const page = (index: number, more: Partial<SimulationPage> = {}): SimulationPage =>
  ({ index, outcomes: [], skipped: 0, ...more }) as SimulationPage;
const stored = (index: number, more: Record<string, unknown> = {}) => ({
  pk: 'SIMULATION#j1',
  sk: `PAGE#${String(index).padStart(6, '0')}`,
  index,
  outcomes: '[{"tenantId":"t1","total":"12.50"}]',
  ...more,
});

describe('fleet simulation job storage', () => {
  it('a page an earlier attempt wrote is answered as stored, not written again', async () => {
    const db = fakeDocuments({
      put: () => Promise.reject(conditionFailed()),
      get: () => ({ Item: stored(3, { skipped: 2, next: 't9' }) }),
    });
    const answered = await new DynamoSimulationJobs(db, 'billing').putPage('j1', page(3, { next: 'other' }));
    expect(answered).toEqual({ index: 3, outcomes: [{ tenantId: 't1', total: '12.50' }], skipped: 2, next: 't9' });
    expect(db.inputs('get')[0]).toMatchObject({ Key: { pk: 'SIMULATION#j1', sk: 'PAGE#000003' }, ConsistentRead: true });
  });

  it('a page write throttled is surfaced', async () => {
    const db = fakeDocuments({ put: () => Promise.reject(throttled()) });
    await expect(new DynamoSimulationJobs(db, 'billing').putPage('j1', page(0))).rejects.toThrow(
      expect.objectContaining({ name: 'ProvisionedThroughputExceededException' }),
    );
  });

  it('reads pages from one index on, at most as many as asked, over DynamoDB pages', async () => {
    const db = fakeDocuments({
      query: (_, n) => (n === 0 ? { Items: [stored(2)], LastEvaluatedKey: { sk: 'PAGE#000002' } } : { Items: [stored(3), stored(4)] }),
    });
    const read: SimulationPage[] = [];
    for await (const p of new DynamoSimulationJobs(db, 'billing').pages('j1', 2, 2)) read.push(p);
    expect(read.map((p) => [p.index, p.skipped, p.next])).toEqual([
      [2, 0, undefined],
      [3, 0, undefined],
    ]);
    expect(db.inputs('query')[0].ExpressionAttributeValues[':from']).toBe('PAGE#000002');
  });

  it('no open job is nothing to claim; an unknown job is absent', async () => {
    const store = new DynamoSimulationJobs(fakeDocuments({ query: () => ({}), get: () => ({}) }), 'billing');
    expect(await store.claim(1_000, 60_000)).toBeUndefined();
    expect(await store.get('j1')).toBeUndefined();
  });

  it('a job is listed among open ones while queued or running, and leaves the index once it has succeeded or failed', async () => {
    const db = fakeDocuments({ put: () => ({}) });
    const store = new DynamoSimulationJobs(db, 'billing');
    const job = { jobId: 'j1', createdAt: '2026-03-10T00:00:00.000Z', status: 'running', owner: 'me' } as unknown as FleetSimulationJob;
    await store.save(job);
    await store.save({ ...job, status: 'succeeded' });
    const [running, succeeded] = db.inputs('put');
    expect(running.Item).toMatchObject({ gsi1pk: 'SIMULATION-JOBS', gsi1sk: '2026-03-10T00:00:00.000Z#j1' });
    expect(succeeded.Item).not.toHaveProperty('gsi1pk');
    expect(succeeded.ExpressionAttributeValues).toEqual({ ':owner': 'me' });
  });
});
