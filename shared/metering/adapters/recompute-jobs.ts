import type { Documents } from '../../platform/dynamo/documents.js';
import { claimJob, saveOwnedJob } from '../../platform/dynamo/leased-jobs.js';
import type { RecomputeJobs } from '../ports.js';
import type { RecomputeJob } from '../recompute-job.js';

/** Jobs that are queued or running carry the index key, so the worker finds them without a scan. */
const OPEN_JOBS = 'recompute-jobs';
const jobKey = (jobId: string) => ({ pk: `recompute#${jobId}` });

/**
 * Recompute jobs in the events table, beside the ledger and the correction records they concern, kept as long as
 * the ledger keeps events.
 */
export class DynamoRecomputeJobs implements RecomputeJobs {
  constructor(
    private readonly db: Documents,
    private readonly eventsTable: string,
    private readonly retentionDays: number,
  ) {}

  async create(job: RecomputeJob): Promise<void> {
    await this.db.put({ TableName: this.eventsTable, Item: this.item(job), ConditionExpression: 'attribute_not_exists(pk)' });
  }

  async get(jobId: string): Promise<RecomputeJob | undefined> {
    const r = await this.db.get({ TableName: this.eventsTable, Key: jobKey(jobId), ConsistentRead: true });
    return r.Item ? toJob(r.Item) : undefined;
  }

  async claim(now: number, leaseMs: number): Promise<RecomputeJob | undefined> {
    const claimed = await claimJob(this.db, { table: this.eventsTable, openJobs: OPEN_JOBS, key: (i) => ({ pk: i.pk }) }, now, leaseMs);
    return claimed && { ...toJob(claimed.attributes), owner: claimed.owner, leaseUntil: claimed.leaseUntil };
  }

  save(job: RecomputeJob): Promise<boolean> {
    return saveOwnedJob(this.db, this.eventsTable, this.item(job), job.owner);
  }

  private item(job: RecomputeJob): Record<string, unknown> {
    const open = job.status === 'queued' || job.status === 'running';
    return {
      ...jobKey(job.jobId),
      ...job,
      ...(open ? { gsi1pk: OPEN_JOBS, gsi1sk: `${job.createdAt}#${job.jobId}` } : {}),
      expiresAt: Math.floor(Date.parse(job.createdAt) / 1000) + this.retentionDays * 86_400,
    };
  }
}

function toJob(item: Record<string, unknown>): RecomputeJob {
  const { pk: _pk, gsi1pk: _gsi1pk, gsi1sk: _gsi1sk, expiresAt: _expiresAt, ...job } = item;
  return job as unknown as RecomputeJob;
}
