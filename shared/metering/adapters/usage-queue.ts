import type { SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import { mapLimit } from '../../kernel/batching.js';
import { backoffDelay, sleep } from '../../kernel/retry.js';
import type { SendMessageBatch } from '../../platform/aws/sqs.js';
import type { UsageEvent } from '../events.js';
import type { SendOutcome, UsageQueue } from '../ports.js';
import { packMessages } from '../queue-messages.js';

/** SQS takes batches of up to 1 MiB and 10 entries; leave room for the envelope and attributes. */
const MAX_BATCH_BYTES = 1024 * 1024 - 16 * 1024;
const MAX_BATCH_ENTRIES = 10;

export class SqsUsageQueue implements UsageQueue {
  constructor(
    private readonly sendMessageBatch: SendMessageBatch,
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
          const result = await this.sendMessageBatch({ QueueUrl: this.queueUrl, Entries: entries });
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
