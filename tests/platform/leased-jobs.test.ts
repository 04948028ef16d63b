import { describe, expect, it } from 'vitest';
import { claimJob, saveOwnedJob } from '../../shared/platform/dynamo/leased-jobs.js';
import { conditionFailed, fakeDocuments, throttled } from '../support/fake-documents.js';

/** Leases on job items (recompute jobs, fleet simulations) against DynamoDB's answers: taken, refused, lost. */
const jobs = { table: 'jobs', openJobs: 'open#recompute', key: (item: Record<string, unknown>) => ({ pk: item.pk }) };
const NOW = 1_000_000;

describe('leased jobs', () => {
  it('skips a job another worker holds under a live lease and takes the next queued one', async () => {
    const db = fakeDocuments({
      query: () => ({
        Items: [
          { pk: 'job#live', status: 'running', leaseUntil: NOW + 1 },
          { pk: 'job#queued', status: 'queued' },
        ],
      }),
      update: (input) => ({ Attributes: { pk: input.Key!.pk, status: 'running', attempts: 1 } }),
    });
    const claim = await claimJob(db, jobs, NOW, 60_000);

    expect(claim).toMatchObject({ attributes: { pk: 'job#queued', status: 'running' }, leaseUntil: NOW + 60_000 });
    expect(db.inputs('update')).toHaveLength(1);
    expect(db.inputs('update')[0].ExpressionAttributeValues[':owner']).toBe(claim!.owner);
  });

  it('takes over a running job whose lease has ended', async () => {
    const db = fakeDocuments({
      query: () => ({ Items: [{ pk: 'job#stale', status: 'running', leaseUntil: NOW - 1 }] }),
      update: () => ({ Attributes: { pk: 'job#stale', attempts: 2 } }),
    });
    expect((await claimJob(db, jobs, NOW, 60_000))?.attributes).toEqual({ pk: 'job#stale', attempts: 2 });
  });

  it('a claim another worker won is refused and the next candidate tried; none left is nothing to do', async () => {
    const db = fakeDocuments({
      query: () => ({
        Items: [
          { pk: 'job#a', status: 'queued' },
          { pk: 'job#b', status: 'queued' },
        ],
      }),
      update: () => Promise.reject(conditionFailed()),
    });
    expect(await claimJob(db, jobs, NOW, 60_000)).toBeUndefined();
    expect(db.inputs('update').map((u) => u.Key.pk)).toEqual(['job#a', 'job#b']);
  });

  it('no open job is nothing to do', async () => {
    const db = fakeDocuments({ query: () => ({}) });
    expect(await claimJob(db, jobs, NOW, 60_000)).toBeUndefined();
  });

  it('throttling while claiming is surfaced, not taken for a lost claim', async () => {
    const db = fakeDocuments({ query: () => ({ Items: [{ pk: 'job#a', status: 'queued' }] }), update: () => Promise.reject(throttled()) });
    await expect(claimJob(db, jobs, NOW, 60_000)).rejects.toThrow(
      expect.objectContaining({ name: 'ProvisionedThroughputExceededException' }),
    );
  });

  it('a save holds while the saver owns the job, answers false once another took it over, and surfaces other faults', async () => {
    let fault = false;
    const db = fakeDocuments({ put: (_, n) => (fault ? Promise.reject(throttled()) : n === 0 ? {} : Promise.reject(conditionFailed())) });
    expect(await saveOwnedJob(db, 'jobs', { pk: 'job#a' }, 'me')).toBe(true);
    expect(db.inputs('put')[0]).toMatchObject({ ConditionExpression: '#owner = :owner', ExpressionAttributeValues: { ':owner': 'me' } });
    expect(await saveOwnedJob(db, 'jobs', { pk: 'job#a' }, 'me')).toBe(false);
    fault = true;
    await expect(saveOwnedJob(db, 'jobs', { pk: 'job#a' }, 'me')).rejects.toThrow(
      expect.objectContaining({ name: 'ProvisionedThroughputExceededException' }),
    );
  });
});
