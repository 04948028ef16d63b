import type { Documents } from '../../platform/dynamo/documents.js';
import { errorName } from '../../platform/dynamo/errors.js';
import { claimJob, saveOwnedJob } from '../../platform/dynamo/leased-jobs.js';
import { queryPages } from '../../platform/dynamo/query.js';
import type { FleetSimulationJob, SimulationPage } from '../fleet-simulation-job.js';
import type { FleetSimulationJobs } from '../ports.js';

/** Jobs that are queued or running carry the index key, so the worker finds them without a scan. */
const OPEN_JOBS = 'SIMULATION-JOBS';
const jobPk = (jobId: string) => `SIMULATION#${jobId}`;
const jobKey = (jobId: string) => ({ pk: jobPk(jobId), sk: 'JOB' });
const pageSort = (index: number) => `PAGE#${String(index).padStart(6, '0')}`;

/**
 * Fleet simulation jobs in the billing table, each in a partition of its own: the job item (its progress and, when
 * done, its summary) and one item per page of outcomes, the outcomes as one JSON text (amounts stay decimal strings).
 * Kept like invoices, for the operator to compare with later changes.
 */
export class DynamoSimulationJobs implements FleetSimulationJobs {
  constructor(
    private readonly db: Documents,
    private readonly table: string,
  ) {}

  async create(job: FleetSimulationJob): Promise<void> {
    await this.db.put({ TableName: this.table, Item: item(job), ConditionExpression: 'attribute_not_exists(pk)' });
  }

  async get(jobId: string): Promise<FleetSimulationJob | undefined> {
    const r = await this.db.get({ TableName: this.table, Key: jobKey(jobId), ConsistentRead: true });
    return r.Item ? toJob(r.Item) : undefined;
  }

  async claim(now: number, leaseMs: number): Promise<FleetSimulationJob | undefined> {
    const claimed = await claimJob(this.db, { table: this.table, openJobs: OPEN_JOBS, key: (i) => ({ pk: i.pk, sk: i.sk }) }, now, leaseMs);
    return claimed && { ...toJob(claimed.attributes), owner: claimed.owner, leaseUntil: claimed.leaseUntil };
  }

  save(job: FleetSimulationJob): Promise<boolean> {
    return saveOwnedJob(this.db, this.table, item(job), job.owner);
  }

  async putPage(jobId: string, page: SimulationPage): Promise<SimulationPage> {
    const key = { pk: jobPk(jobId), sk: pageSort(page.index) };
    try {
      await this.db.put({
        TableName: this.table,
        Item: {
          ...key,
          index: page.index,
          outcomes: JSON.stringify(page.outcomes),
          skipped: page.skipped,
          ...(page.next ? { next: page.next } : {}),
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      });
      return page;
    } catch (error) {
      if (errorName(error) !== 'ConditionalCheckFailedException') throw error;
      const r = await this.db.get({ TableName: this.table, Key: key, ConsistentRead: true });
      return toPage(r.Item!);
    }
  }

  async *pages(jobId: string, from = 0, limit = Number.POSITIVE_INFINITY): AsyncGenerator<SimulationPage> {
    let left = limit;
    for await (const items of queryPages(this.db, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: { ':pk': jobPk(jobId), ':from': pageSort(from), ':to': 'PAGE#~' },
      ConsistentRead: true,
    }))
      for (const i of items) {
        if (left-- <= 0) return;
        yield toPage(i);
      }
  }
}

function item(job: FleetSimulationJob): Record<string, unknown> {
  const open = job.status === 'queued' || job.status === 'running';
  return { ...jobKey(job.jobId), ...job, ...(open ? { gsi1pk: OPEN_JOBS, gsi1sk: `${job.createdAt}#${job.jobId}` } : {}) };
}

function toJob(i: Record<string, unknown>): FleetSimulationJob {
  const { pk: _pk, sk: _sk, gsi1pk: _g1, gsi1sk: _g2, ...job } = i;
  return job as unknown as FleetSimulationJob;
}

function toPage(i: Record<string, unknown>): SimulationPage {
  return {
    index: Number(i.index),
    outcomes: JSON.parse(String(i.outcomes)),
    skipped: Number(i.skipped ?? 0),
    ...(i.next ? { next: String(i.next) } : {}),
  };
}
