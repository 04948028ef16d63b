import { ClientError } from './errors.js';
import * as z from './zod-mini.js';

/**
 * The instants the API reads: ISO 8601 date-times with a four-digit year and an offset (`Z` or `±hh:mm`), from
 * 1970-01-01 to the end of 9999. Outside that range calendar arithmetic misreads years (JavaScript's Date.UTC takes
 * years 0-99 as 1900-1999), so an instant outside it is a client's mistake, answered 400, never a period key.
 */
export const MIN_INSTANT = Date.UTC(1970, 0, 1);
export const MAX_INSTANT = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

const supported = (text: string) => {
  const at = Date.parse(text);
  return at >= MIN_INSTANT && at <= MAX_INSTANT;
};

export const instantText = z.iso
  .datetime({ offset: true })
  .check(z.refine(supported, 'must be an instant from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z'));

/**
 * A query's `from` and `to` as epoch milliseconds: an open end takes its default, and `from` must come before `to`.
 * Both texts have passed `instantText`.
 */
export function instantRange(q: { from?: string; to?: string }, open: { from: number; to: number }): { from: number; to: number } {
  const from = q.from === undefined ? open.from : Date.parse(q.from);
  const to = q.to === undefined ? open.to : Date.parse(q.to);
  if (from >= to) throw new ClientError('INVALID_REQUEST', '`from` must be before `to`', 'from');
  return { from, to };
}
