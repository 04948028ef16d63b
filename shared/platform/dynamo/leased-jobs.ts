import { randomUUID } from 'node:crypto';
import type { Documents } from './documents.js';
import { errorName } from './errors.js';

/**
 * Job items that one worker at a time runs under a lease (recompute jobs, fleet simulations): open jobs carry the
 * `gsi1pk` the caller names, so a worker finds them without a scan; a queued job, or a running one whose lease has
 * ended, is taken by one conditional update; a save holds only while the saver still owns the job.
 */

/** The first open job this worker may take, with its new owner and lease, or nothing to do. */
export async function claimJob(
  db: Documents,
  o: { table: string; openJobs: string; key: (item: Record<string, unknown>) => Record<string, unknown> },
  now: number,
  leaseMs: number,
): Promise<{ attributes: Record<string, unknown>; owner: string; leaseUntil: number } | undefined> {
  const open = await db.query({
    TableName: o.table,
    IndexName: 'gsi1',
    KeyConditionExpression: 'gsi1pk = :open',
    ExpressionAttributeValues: { ':open': o.openJobs },
    Limit: 50,
  });
  for (const candidate of open.Items ?? []) {
    if (candidate.status === 'running' && Number(candidate.leaseUntil ?? 0) >= now) continue;
    const owner = randomUUID();
    try {
      const r = await db.update({
        TableName: o.table,
        Key: o.key(candidate),
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
      return { attributes: r.Attributes!, owner, leaseUntil: now + leaseMs };
    } catch (error) {
      if (errorName(error) !== 'ConditionalCheckFailedException') throw error;
    }
  }
  return undefined;
}

/** Writes the job's item while `owner` still holds it; false once another worker has taken it over. */
export async function saveOwnedJob(
  db: Documents,
  table: string,
  item: Record<string, unknown>,
  owner: string | undefined,
): Promise<boolean> {
  try {
    await db.put({
      TableName: table,
      Item: item,
      ConditionExpression: '#owner = :owner',
      ExpressionAttributeNames: { '#owner': 'owner' },
      ExpressionAttributeValues: { ':owner': owner },
    });
    return true;
  } catch (error) {
    if (errorName(error) === 'ConditionalCheckFailedException') return false;
    throw error;
  }
}
