import { z } from 'zod';
import type { UsageEvent } from './events.js';
import { aggregations } from './meters.js';

/** SQS takes messages of up to 1 MiB; leave room for the envelope and attributes. */
export const MAX_MESSAGE_BYTES = 256 * 1024;

/** The queue's wire format: many events per message so that SQS calls per event stay far below one. */
const usageEventSchema = z.object({
  tenantId: z.string().min(1),
  id: z.string().min(1),
  meter: z.string().min(1),
  aggregation: z.enum(aggregations),
  timestamp: z.string(),
  value: z.string(),
  groupKey: z.string(),
  subject: z.string().optional(),
  properties: z.string().optional(),
  payloadHash: z.string(),
  receivedAt: z.string(),
});
const messageSchema = z.object({ events: z.array(usageEventSchema).min(1) });

export function parseMessage(body: string): UsageEvent[] | undefined {
  try {
    const r = messageSchema.safeParse(JSON.parse(body));
    return r.success ? (r.data.events as UsageEvent[]) : undefined;
  } catch {
    return undefined;
  }
}

/** Packs events into message bodies of at most `maxBytes`, keeping each event whole. */
export function packMessages(events: readonly UsageEvent[], maxBytes = MAX_MESSAGE_BYTES): { body: string; events: UsageEvent[] }[] {
  const messages: { body: string; events: UsageEvent[] }[] = [];
  let parts: string[] = [];
  let members: UsageEvent[] = [];
  let size = '{"events":[]}'.length;
  const flush = () => {
    if (parts.length === 0) return;
    messages.push({ body: `{"events":[${parts.join(',')}]}`, events: members });
    parts = [];
    members = [];
    size = '{"events":[]}'.length;
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
