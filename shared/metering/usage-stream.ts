import { createHash } from 'node:crypto';
import { type DomainEvent, domainEvent } from '../events/domain-events.js';
import { parseJson } from '../kernel/json.js';
import type { Correction } from './corrections.js';
import type { UsageEvent } from './events.js';

/**
 * The `usage.recorded` stream: counted events announced in batches, one domain event per tenant × meter and batch.
 * A batch is kept under `MAX_BATCH_BYTES` of JSON so that it fits one EventBridge entry (256 KB, detail and
 * detail-type counted) and one webhook delivery. Its id is derived from the events it carries, so announcing the
 * same events again (a redelivered queue message) yields the same id and the same delivery; each event inside
 * carries its own `eventId`, the key a subscriber drops repeats by.
 */
export const MAX_BATCH_BYTES = 200 * 1024;

export type RecordedUsage = DomainEvent<'usage.recorded'>['data']['events'][number];

export function recordedUsage(e: UsageEvent): RecordedUsage {
  return {
    eventId: e.id,
    timestamp: e.timestamp,
    value: e.value,
    ...(e.subject === undefined ? {} : { subject: e.subject }),
    ...(e.properties === undefined ? {} : { properties: parseJson(e.properties) as Record<string, unknown> }),
    receivedAt: e.receivedAt,
  };
}

/** The batches announcing `events`, those of each tenant × meter together, in the order given. */
export function usageRecordedBatches(events: readonly UsageEvent[], occurredAt: string, maxBytes = MAX_BATCH_BYTES) {
  const groups = new Map<string, UsageEvent[]>();
  for (const e of events) {
    const key = `${e.tenantId}\n${e.meter}`;
    groups.set(key, [...(groups.get(key) ?? []), e]);
  }
  const batches: DomainEvent<'usage.recorded'>[] = [];
  for (const members of groups.values()) {
    const { tenantId, meter } = members[0]!;
    const envelope = JSON.stringify(domainEvent('usage.recorded', tenantId, 'x'.repeat(100), { meter, events: [] }, occurredAt)).length;
    let batch: RecordedUsage[] = [];
    let size = envelope;
    const flush = () => {
      if (batch.length === 0) return;
      const key = `${meter}:${createHash('sha256')
        .update(batch.map((b) => b.eventId).join('\n'))
        .digest('hex')
        .slice(0, 32)}`;
      batches.push(domainEvent('usage.recorded', tenantId, key, { meter, events: batch }, occurredAt));
      batch = [];
      size = envelope;
    };
    for (const e of members) {
      const item = recordedUsage(e);
      const bytes = Buffer.byteLength(JSON.stringify(item)) + 1;
      if (batch.length > 0 && size + bytes > maxBytes) flush();
      batch.push(item);
      size += bytes;
    }
    flush();
  }
  return batches;
}

/** `usage.corrected`: a correction or void, announced once by its correction id. */
export function usageCorrected(c: Correction): DomainEvent<'usage.corrected'> {
  return domainEvent(
    'usage.corrected',
    c.tenantId,
    c.correctionId,
    {
      eventId: c.eventId,
      meter: c.before.meter,
      correctionId: c.correctionId,
      action: c.action,
      before: recordedUsage(c.before),
      ...(c.after ? { after: recordedUsage(c.after) } : {}),
      correctedAt: c.correctedAt,
    },
    c.correctedAt,
  );
}
