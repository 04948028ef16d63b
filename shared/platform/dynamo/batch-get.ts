import type { BatchGetCommandOutput } from '@aws-sdk/lib-dynamodb';
import { chunk, mapLimit } from '../../kernel/batching.js';
import { backoffDelay, sleep } from '../../kernel/retry.js';
import type { Documents } from './documents.js';

/** BatchGetItem takes at most 100 keys a request. */
const KEYS_PER_REQUEST = 100;

/**
 * The items of `keys` that exist, read 100 keys a request, `concurrency` requests at once; keys DynamoDB leaves
 * unprocessed (throttling, its 16 MB response) are asked for again after a backoff until none is left.
 */
export async function batchGetAll(
  db: Documents,
  table: string,
  keys: readonly Record<string, unknown>[],
  options: { projection?: string; names?: Record<string, string>; concurrency?: number } = {},
): Promise<Record<string, any>[]> {
  const found: Record<string, any>[] = [];
  await mapLimit(chunk(keys, KEYS_PER_REQUEST), options.concurrency ?? 4, async (batch) => {
    let pending: Record<string, unknown>[] | undefined = batch;
    for (let attempt = 0; pending && pending.length > 0; attempt++) {
      if (attempt > 0) await sleep(backoffDelay(attempt, 25, 1_000));
      const result: BatchGetCommandOutput = await db.batchGet({
        RequestItems: {
          [table]: {
            Keys: pending,
            ...(options.projection ? { ProjectionExpression: options.projection } : {}),
            ...(options.names ? { ExpressionAttributeNames: options.names } : {}),
          },
        },
      });
      found.push(...(result.Responses?.[table] ?? []));
      pending = result.UnprocessedKeys?.[table]?.Keys;
    }
  });
  return found;
}
