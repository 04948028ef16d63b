import { randomUUID } from 'node:crypto';
import * as z from '../kernel/zod-mini.js';
import type { UsageEvent } from './events.js';
import { aggregations } from './meters.js';
import type { UsageMessage } from './ports.js';

/** SQS takes messages of up to 1 MiB; leave room for the envelope and attributes. */
export const MAX_MESSAGE_BYTES = 256 * 1024;

/**
 * The queue's wire format: many events per message so that SQS calls per event stay far below one, and an
 * id of the message's own that survives what SQS's message id does not (a DLQ redrive assigns a new one):
 * the consumer names the message in every ledger entry it claims and in the receipts of its folds.
 */
const nonEmpty = z.string().check(z.minLength(1));
const usageEventSchema = z.object({
  tenantId: nonEmpty,
  id: nonEmpty,
  meter: nonEmpty,
  aggregation: z.enum(aggregations),
  timestamp: z.string(),
  value: z.string(),
  groupKey: z.string(),
  subject: z.optional(z.string()),
  properties: z.optional(z.string()),
  payloadHash: z.string(),
  receivedAt: z.string(),
});
const messageSchema = z.object({ id: z.optional(nonEmpty), events: z.array(usageEventSchema).check(z.minLength(1)) });

/** The message's events and its id; a message written without one (by hand) is named by SQS's `messageId`. */
export function parseMessage(body: string, messageId: string): UsageMessage | undefined {
  try {
    const r = messageSchema.safeParse(JSON.parse(body));
    return r.success ? { id: r.data.id ?? messageId, events: r.data.events as UsageEvent[] } : undefined;
  } catch {
    return undefined;
  }
}

/** Packs events into message bodies of at most `maxBytes`, keeping each event whole. */
export function packMessages(events: readonly UsageEvent[], maxBytes = MAX_MESSAGE_BYTES): { body: string; events: UsageEvent[] }[] {
  const messages: { body: string; events: UsageEvent[] }[] = [];
  let parts: string[] = [];
  let members: UsageEvent[] = [];
  // A UUID is 36 characters.
  const empty = `{"id":"${'0'.repeat(36)}","events":[]}`.length;
  let size = empty;
  const flush = () => {
    if (parts.length === 0) return;
    messages.push({ body: `{"id":"${randomUUID()}","events":[${parts.join(',')}]}`, events: members });
    parts = [];
    members = [];
    size = empty;
  };
  for (const e of events) {
    const json = JSON.stringify(e);
    const bytes = Buffer.byteLength(json) + 1;
    if (parts.length > 0 && size + bytes > maxBytes) flush();
    parts.push(json);
    members.push(e);
    size += bytes;
  }
  flush();
  return messages;
}
