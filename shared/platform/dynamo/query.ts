import type { QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { ClientError } from '../../kernel/errors.js';
import type { Documents } from './documents.js';

/** A page position handed to API clients: opaque to them, and checked when it comes back. */
export function encodeCursor(position: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

export function decodeCursor<T extends Record<string, unknown>>(cursor: string): T {
  try {
    const position: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof position === 'object' && position !== null && !Array.isArray(position)) return position as T;
  } catch {
    // answered below
  }
  throw new ClientError('INVALID_REQUEST', 'cursor is not one this API handed out', 'cursor');
}

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
