import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, type SQSClient } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import type { UsageEvent } from '../events.js';
import { aggregations } from '../meters.js';
import { backoffDelay, mapLimit, sleep } from '../../kernel/retry.js';

/** SQS takes messages and batches of up to 1 MiB; leave room for the envelope and attributes. */
export const MAX_MESSAGE_BYTES = 256 * 1024;
const MAX_BATCH_BYTES = 1024 * 1024 - 16 * 1024;
const MAX_BATCH_ENTRIES = 10;

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
  properties: z.record(z.string(), z.unknown()).optional(),
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

export interface SendOutcome {
  /** Events that could not be made durable: the caller must not report them accepted. */
  failed: UsageEvent[];
  calls: number;
}

export class SqsUsageQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    private readonly maxAttempts = 4,
  ) {}

  async send(events: readonly UsageEvent[]): Promise<SendOutcome> {
    const outcome: SendOutcome = { failed: [], calls: 0 };
    const batches = batchesOf(packMessages(events));
    await mapLimit(batches, 4, async (batch) => {
      let pending = batch.map((m, i) => ({ Id: String(i), MessageBody: m.body, events: m.events }));
      for (let attempt = 0; pending.length > 0 && attempt < this.maxAttempts; attempt++) {
        if (attempt > 0) await sleep(backoffDelay(attempt, 50, 1_000));
        outcome.calls += 1;
        try {
          const entries: SendMessageBatchRequestEntry[] = pending.map(({ Id, MessageBody }) => ({ Id, MessageBody }));
          const result = await this.sqs.send(new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: entries }));
          const failedIds = new Set((result.Failed ?? []).map((f) => f.Id));
          pending = pending.filter((p) => failedIds.has(p.Id));
        } catch {
          // The whole call failed (throttled, timed out, 5xx); SQS may still have taken some entries, which
          // is safe: a message delivered twice meets its own ledger entries in the consumer.
        }
      }
      outcome.failed.push(...pending.flatMap((p) => p.events));
    });
    return outcome;
  }
}

function batchesOf(messages: { body: string; events: UsageEvent[] }[]) {
  const batches: (typeof messages)[] = [];
  let current: typeof messages = [];
  let bytes = 0;
  for (const m of messages) {
    const size = Buffer.byteLength(m.body);
    if (current.length === MAX_BATCH_ENTRIES || (current.length > 0 && bytes + size > MAX_BATCH_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(m);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
