import { randomUUID } from 'node:crypto';
import type { Documents } from '../../platform/dynamo/documents.js';
import { errorName } from '../../platform/dynamo/errors.js';
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
    const open = await this.db.query({
      TableName: this.eventsTable,
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :open',
      ExpressionAttributeValues: { ':open': OPEN_JOBS },
      Limit: 50,
    });
    for (const candidate of open.Items ?? []) {
      if (candidate.status === 'running' && Number(candidate.leaseUntil ?? 0) >= now) continue;
      const owner = randomUUID();
      try {
        const r = await this.db.update({
          TableName: this.eventsTable,
          Key: { pk: candidate.pk },
          UpdateExpression: 'SET #status = :running, #owner = :owner, leaseUntil = :until ADD attempts :one',
          ConditionExpression: '#status = :queued OR (#status = :running AND leaseUntil < :now)',
          ExpressionAttributeNames: { '#status': 'status', '#owner': 'owner' },
          ExpressionAttributeValues: {
            ':running': 'running',
            ':queued': 'queued',
            ':owner': owner,
            ':until': now + leaseMs,
            ':now': now,
            ':one': 1,
          },
          ReturnValues: 'ALL_NEW',
        });
        return { ...toJob(r.Attributes!), owner, leaseUntil: now + leaseMs };
      } catch (error) {
        if (errorName(error) !== 'ConditionalCheckFailedException') throw error;
      }
    }
    return undefined;
  }

  async save(job: RecomputeJob): Promise<boolean> {
    try {
      await this.db.put({
        TableName: this.eventsTable,
        Item: this.item(job),
        ConditionExpression: '#owner = :owner',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: { ':owner': job.owner },
      });
      return true;
    } catch (error) {
      if (errorName(error) === 'ConditionalCheckFailedException') return false;
      throw error;
    }
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
