import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { type DomainEvent, domainEvent } from '../../shared/events/domain-events.js';
import type { UsageEvent } from '../../shared/metering/events.js';
import type { CommitOutcome, RejectionBatch, UsageMessage } from '../../shared/metering/ports.js';
import { parseMessage } from '../../shared/metering/queue-messages.js';
import { usageRecordedBatches } from '../../shared/metering/usage-stream.js';
import { lambdaHandler } from '../../shared/platform/lambda.js';
import { logger, metrics } from '../../shared/platform/observability.js';

export interface ConsumerDependencies {
  commit(messages: UsageMessage[]): Promise<CommitOutcome>;
  /** Announces each quarantined event to its tenant (`event.quarantined`), and counted usage to the tenants that stream it. */
  publish(event: DomainEvent): Promise<void>;
  /** Whether the tenant takes `usage.recorded` for the meter (an endpoint subscribes to it). */
  streams(tenantId: string, meter: string): Promise<boolean>;
  /** Ids found re-used with another payload are told to the tenant as rejections. */
  recordRejections(batch: RejectionBatch): Promise<void>;
  now(): number;
}

/**
 * The usage queue's consumer: folds every event of the batch into the ledger and counters, and reports
 * the messages whose events could not be written so that only those are delivered again.
 * An event no write can ever take is quarantined by the store (kept with its reason, counted in
 * `EventsQuarantined`), so the DLQ only ever holds what infrastructure failed: a message that cannot be
 * read, or writes that failed on every receive. Not Powertools' batch processor, which handles records one by one:
 * the consumer folds the whole batch at once, into one write per counter.
 */
export function createConsumer(deps: ConsumerDependencies) {
  return lambdaHandler<SQSEvent, SQSBatchResponse>().handler(async (event) => {
    const failures = new Set<string>();
    const source = new Map<UsageEvent, string>();
    const redelivered = new Set<string>();
    const messages: UsageMessage[] = [];
    for (const record of event.Records ?? []) {
      const message = parseMessage(record.body, record.messageId);
      if (!message) {
        logger.error('unreadable usage message', {
          messageId: record.messageId,
          receiveCount: record.attributes?.ApproximateReceiveCount,
        });
        failures.add(record.messageId);
        continue;
      }
      messages.push(message);
      if (Number(record.attributes?.ApproximateReceiveCount ?? 1) > 1) redelivered.add(record.messageId);
      for (const e of message.events) source.set(e, record.messageId);
    }

    const outcome = await deps.commit(messages);
    for (const e of outcome.failed) failures.add(source.get(e)!);

    const now = deps.now();
    const lag = outcome.counted.reduce((max, e) => Math.max(max, now - Date.parse(e.receivedAt)), 0);
    metrics.addMetric('EventsCounted', MetricUnit.Count, outcome.counted.length);
    metrics.addMetric('EventsDuplicate', MetricUnit.Count, outcome.duplicates.length);
    metrics.addMetric('EventsFailed', MetricUnit.Count, outcome.failed.length);
    metrics.addMetric('EventsQuarantined', MetricUnit.Count, outcome.quarantined.length);
    metrics.addMetric('EventsIdReused', MetricUnit.Count, outcome.reused.length);
    metrics.addMetric('AggregationLag', MetricUnit.Milliseconds, lag);
    metrics.addMetric('WriteUnits', MetricUnit.Count, outcome.writeUnits);
    if (outcome.failed.length > 0) logger.warn('events left for redelivery', { failed: outcome.failed.length, messages: failures.size });
    for (const { event: e, reason } of outcome.quarantined) {
      logger.error('event quarantined', { tenantId: e.tenantId, eventId: e.id, meter: e.meter, reason, messageId: source.get(e) });
      // The quarantine itself is durable and counted in EventsQuarantined; a redelivery would find the event a
      // duplicate, so a failed announcement is logged rather than retried through the message.
      const data = { eventId: e.id, meter: e.meter, reason, receivedAt: e.receivedAt };
      await deps
        .publish(domainEvent('event.quarantined', e.tenantId, e.id, data, new Date(now).toISOString()))
        .catch((error: unknown) =>
          logger.error('quarantine could not be announced', { tenantId: e.tenantId, eventId: e.id, error: error as Error }),
        );
    }
    await recordReuse(deps, outcome.reused, now);
    // Announced per message, once the message settled, so that a redelivery (or a receive overlapping another)
    // announces the same events in the same batches, under the same ids. A redelivered message's duplicates are
    // announced too: the receive that counted them may have failed to.
    const counted = new Set(outcome.counted);
    const duplicate = new Set(outcome.duplicates);
    const settled = messages.filter((m) => !failures.has(source.get(m.events[0]!)!));
    const announce = settled.map((m) => m.events.filter((e) => counted.has(e) || (duplicate.has(e) && redelivered.has(source.get(e)!))));
    for (const e of await streamUsage(deps, announce, now)) failures.add(source.get(e)!);

    return { batchItemFailures: [...failures].map((itemIdentifier) => ({ itemIdentifier })) };
  });
}

/**
 * Announces counted events as `usage.recorded` batches to the tenants that stream them, after they were counted.
 * Answers the events whose batch could not be published: their messages are delivered again, find them
 * duplicates, and announce them again under the same batch id.
 */
async function streamUsage(deps: ConsumerDependencies, messages: UsageEvent[][], now: number): Promise<UsageEvent[]> {
  const streamed: UsageEvent[][] = [];
  const unannounced: UsageEvent[] = [];
  const answers = new Map<string, Promise<boolean>>();
  for (const events of messages) {
    const mine: UsageEvent[] = [];
    for (const e of events) {
      const key = `${e.tenantId}\n${e.meter}`;
      if (!answers.has(key)) answers.set(key, deps.streams(e.tenantId, e.meter));
      const on = await answers.get(key)!.catch((error: unknown) => {
        logger.error('usage stream subscriptions could not be read', { tenantId: e.tenantId, error: error as Error });
        return undefined;
      });
      if (on === undefined) unannounced.push(e);
      else if (on) mine.push(e);
    }
    if (mine.length > 0) streamed.push(mine);
  }
  const byId = new Map(streamed.flat().map((e) => [`${e.tenantId}\n${e.id}`, e]));
  let announced = 0;
  for (const batch of streamed.flatMap((events) => usageRecordedBatches(events, new Date(now).toISOString()))) {
    await deps.publish(batch).then(
      () => {
        announced += batch.data.events.length;
      },
      (error: unknown) => {
        logger.error('usage batch could not be announced', { tenantId: batch.tenantId, batchId: batch.id, error: error as Error });
        for (const r of batch.data.events) unannounced.push(byId.get(`${batch.tenantId}\n${r.eventId}`)!);
      },
    );
  }
  if (announced > 0) metrics.addMetric('UsageStreamed', MetricUnit.Count, announced);
  return unannounced;
}

/** Ids re-sent with another payload while the first was still in flight: ingest could not tell, so the record does. */
async function recordReuse(deps: ConsumerDependencies, reused: UsageEvent[], now: number): Promise<void> {
  const byTenant = new Map<string, UsageEvent[]>();
  for (const e of reused) byTenant.set(e.tenantId, [...(byTenant.get(e.tenantId) ?? []), e]);
  for (const [tenantId, events] of byTenant) {
    logger.warn('event ids re-used with a different payload', { tenantId, eventIds: events.map((e) => e.id).slice(0, 20) });
    const message = 'this id was already counted with a different payload; the first one stands (send a new id for a new event)';
    await deps
      .recordRejections({
        tenantId,
        receivedAt: new Date(now).toISOString(),
        requestId: `consumer-${now}`,
        rejections: events.map((e, index) => ({ index, id: e.id, code: 'ID_REUSED', message })),
      })
      .catch((error: unknown) => logger.warn('re-used ids could not be recorded', { error: error as Error, tenantId }));
  }
}
