import { randomUUID } from 'node:crypto';
import type { LocalStack } from '../../local/stack.js';
import { chunk } from '../../shared/kernel/batching.js';
import { DynamoUsageWriter } from '../../shared/metering/adapters/usage-writer.js';
import { type UsageEvent, validateEvent } from '../../shared/metering/events.js';
import { documentClient } from '../../shared/platform/dynamo/client.js';
import { directoryOf } from '../support/stack.js';

/**
 * Usage from before the open period, which ingest rightly refuses (TIMESTAMP_TOO_OLD): validated as
 * ingest would and folded by the consumer's own store, as a backfill would. The benchmark's 90 days and
 * the screenshots' closed month come in this way.
 */
export async function writeHistory(stack: LocalStack, tenantId: string, raw: readonly Record<string, unknown>[]): Promise<number> {
  const meters = new Map((await directoryOf(stack).listMeters(tenantId)).map((m) => [m.key, m]));
  const now = Date.now();
  const events: UsageEvent[] = raw.map((item, i) => {
    const r = validateEvent(item, i, { tenantId, meters, now, oldestOpen: 0 });
    if (r.status !== 'valid') throw new Error(`history event ${i}: ${r.message}`);
    return r.event;
  });
  const store = new DynamoUsageWriter(documentClient(stack.dynamo), {
    eventsTable: stack.env.EVENTS_TABLE!,
    countersTable: stack.env.COUNTERS_TABLE!,
    ledgerRetentionDays: 40,
  });
  let counted = 0;
  for (const batch of chunk(events, 500)) {
    const outcome = await store.commit([{ id: randomUUID(), events: batch }]);
    if (outcome.failed.length) throw new Error(`${outcome.failed.length} history events failed`);
    counted += outcome.counted.length;
  }
  return counted;
}
