import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ClientError } from '../../kernel/errors.js';
import * as z from '../../kernel/zod-mini.js';

/**
 * Page positions handed to API clients. A cursor is `<position>.<mac>`: the position (a DynamoDB start key, or
 * a store's own bookmark) as base64url JSON, and an HMAC-SHA256 over the listing it belongs to and the position.
 * A cursor that was not handed out by this listing, for this partition, is refused as a 400 before anything
 * reaches DynamoDB; the position's shape is checked as well, so even a leaked key cannot make a start key
 * DynamoDB would refuse.
 *
 * The key is the `cursor` secret (CURSOR_SECRET_ARN, a random value CloudFormation generates, cached five
 * minutes in each container). Without it (local runs, tests) each process makes its own random key, so a
 * local cursor lives as long as the process that handed it out.
 */
export interface CursorCodec<T> {
  encode(position: T): Promise<string>;
  decode(cursor: string): Promise<T>;
}

/** One paginated listing: its name and partition (what the cursor is bound to) and the shape of its positions. */
export function cursorCodec<T extends Record<string, unknown>>(listing: string, shape: z.core.$ZodType<T>): CursorCodec<T> {
  const mac = async (position: string) =>
    createHmac('sha256', await cursorKey())
      .update(`${listing}\n${position}`)
      .digest();
  return {
    async encode(position) {
      const text = Buffer.from(JSON.stringify(position)).toString('base64url');
      return `${text}.${(await mac(text)).toString('base64url')}`;
    },
    async decode(cursor) {
      const [text, signature, ...rest] = cursor.split('.');
      if (text && signature && rest.length === 0) {
        const given = Buffer.from(signature, 'base64url');
        const expected = await mac(text);
        if (given.length === expected.length && timingSafeEqual(given, expected)) {
          const r = z.safeParse(shape, parsed(text));
          if (r.success) return r.data;
        }
      }
      throw new ClientError('INVALID_REQUEST', 'cursor is not one this listing handed out; send the cursor of its previous page', 'cursor');
    },
  };
}

function parsed(text: string): unknown {
  try {
    return JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

/** A key attribute of a start key: a non-empty string within DynamoDB's key size. */
export const keyString = z.string().check(z.minLength(1), z.maxLength(1024));

/** Without a cursor secret: this process's own key. */
const processKey = randomBytes(32);

async function cursorKey(): Promise<Buffer> {
  const arn = process.env.CURSOR_SECRET_ARN;
  if (!arn) return processKey;
  // Only a listing that hands out or reads a cursor loads the Secrets Manager client.
  const { getSecret } = await import('@aws-lambda-powertools/parameters/secrets');
  const secret = await getSecret<string>(arn, { maxAge: 300 });
  if (!secret) throw new Error('the cursor secret in Secrets Manager is empty');
  return Buffer.from(secret, 'utf8');
}
