import type { Documents } from '../../platform/dynamo/documents.js';
import { errorName } from '../../platform/dynamo/errors.js';
import { queryAll } from '../../platform/dynamo/query.js';
import type { RateLimitStore } from '../ports.js';
import { RATE_LIMIT_BUCKETS, type RateLimitBucket, type Take } from '../rate-limits.js';

/** DynamoDB's answers for a partition written faster than it takes: the counter of a subject in a flood. */
const THROTTLED = new Set(['ThrottlingException', 'ProvisionedThroughputExceededException']);
const names = { '#window': 'windowStart', '#used': 'used', '#limit': 'limit' };

/**
 * One item per subject and bucket (`pk` the subject, `sk` the bucket): the current window's start and count, and the
 * limit an admin set. A request is one conditional update that adds to the count only while the window is current
 * and under its limit; the item as it stood comes back when the condition fails, which tells a full window (refuse)
 * from an old one (start the new window: a second write, once per window).
 */
export class DynamoRateLimitStore implements RateLimitStore {
  constructor(
    private readonly db: Documents,
    private readonly table: string,
  ) {}

  async take(subject: string, bucket: RateLimitBucket, window: number, defaultLimit: number): Promise<Take> {
    const Key = { pk: subject, sk: bucket };
    // Another instance may start the window between our two writes, or run a second ahead: at most a few rounds.
    for (let round = 0; round < 3; round++) {
      try {
        const { Attributes } = await this.db.update({
          TableName: this.table,
          Key,
          UpdateExpression: 'ADD #used :one',
          ConditionExpression: '#window = :window AND ((attribute_not_exists(#limit) AND #used < :default) OR #used < #limit)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: { ':one': 1, ':window': window, ':default': defaultLimit },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        });
        return { allowed: true, used: num(Attributes?.used) ?? 1, limit: num(Attributes?.limit) ?? defaultLimit };
      } catch (error) {
        if (THROTTLED.has(errorName(error))) return { allowed: false, used: defaultLimit, limit: defaultLimit };
        if (errorName(error) !== 'ConditionalCheckFailedException') throw error;
        const old = (error as { Item?: Record<string, unknown> }).Item ?? {};
        const oldWindow = num(old.windowStart);
        const limit = num(old.limit) ?? defaultLimit;
        if (oldWindow === window) return { allowed: false, used: num(old.used) ?? limit, limit };
        if (oldWindow !== undefined && oldWindow > window) {
          window = oldWindow;
          continue;
        }
      }
      try {
        const { Attributes } = await this.db.update({
          TableName: this.table,
          Key,
          UpdateExpression: 'SET #window = :window, #used = :one',
          ConditionExpression: 'attribute_not_exists(#window) OR #window < :window',
          ExpressionAttributeNames: { '#window': names['#window'], '#used': names['#used'] },
          ExpressionAttributeValues: { ':one': 1, ':window': window },
          ReturnValues: 'ALL_NEW',
        });
        return { allowed: true, used: 1, limit: num(Attributes?.limit) ?? defaultLimit };
      } catch (error) {
        if (THROTTLED.has(errorName(error))) return { allowed: false, used: defaultLimit, limit: defaultLimit };
        if (errorName(error) !== 'ConditionalCheckFailedException') throw error;
      }
    }
    throw new Error(`rate limit of ${subject} ${bucket}: the window kept moving under three rounds of writes`);
  }

  async limits(subject: string): Promise<Partial<Record<RateLimitBucket, number>>> {
    const items = await queryAll(this.db, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': subject },
    });
    const set: Partial<Record<RateLimitBucket, number>> = {};
    for (const item of items) {
      const limit = num(item.limit);
      if (limit !== undefined && (RATE_LIMIT_BUCKETS as readonly string[]).includes(item.sk)) set[item.sk as RateLimitBucket] = limit;
    }
    return set;
  }

  async setLimits(subject: string, limits: Partial<Record<RateLimitBucket, number | null>>): Promise<void> {
    for (const [bucket, limit] of Object.entries(limits)) {
      if (limit === undefined) continue;
      await this.db.update({
        TableName: this.table,
        Key: { pk: subject, sk: bucket },
        UpdateExpression: limit === null ? 'REMOVE #limit' : 'SET #limit = :limit',
        ExpressionAttributeNames: { '#limit': 'limit' },
        ...(limit === null ? {} : { ExpressionAttributeValues: { ':limit': limit } }),
      });
    }
  }
}

/** A number attribute, from a document (a number) or from the wire item a failed condition returns (`{ N: "3" }`). */
function num(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'object' && 'N' in value) return Number((value as { N: string }).N);
  return Number(value);
}
