import type { QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { Documents } from './documents.js';

/** The items a query matches, one DynamoDB page at a time. */
export async function* queryPages(db: Documents, input: QueryCommandInput): AsyncGenerator<Record<string, any>[]> {
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await db.query({ ...input, ExclusiveStartKey: startKey });
    yield page.Items ?? [];
    startKey = page.LastEvaluatedKey;
  } while (startKey);
}

/** Every item a query matches, following DynamoDB's pages. */
export async function queryAll(db: Documents, input: QueryCommandInput): Promise<Record<string, any>[]> {
  const items: Record<string, any>[] = [];
  for await (const page of queryPages(db, input)) items.push(...page);
  return items;
}
