import { createHash } from 'node:crypto';
import type { DomainEvent, DomainEventPublisher, DomainEventType } from '../events/domain-events.js';
import type { DeliveryQueue, EventBus, WebhookStore } from './ports.js';
import {
  type DeliveryAttempt,
  type DeliveryMessage,
  liveSecrets,
  queueDelaySeconds,
  retryDelaySeconds,
  signatureHeader,
  type WebhookEndpoint,
} from './webhooks.js';

/**
 * Where notifications go: every domain event onto the event bus, and onto the delivery queue once per
 * tenant endpoint subscribed to its type. The delivery record is written before its queue message, so a
 * crash in between leaves a pending delivery that the next publication of the same event (same id, same
 * delivery id) queues again; the worker skips deliveries already delivered.
 */
export interface NotificationPorts {
  bus: EventBus;
  endpoints: Pick<WebhookStore, 'listEndpoints'>;
  deliveries: Pick<WebhookStore, 'createDelivery'>;
  queue: DeliveryQueue;
  now(): number;
}

export const deliveryIdOf = (eventId: string, endpointId: string) =>
  `wd_${createHash('sha256').update(`${eventId}\n${endpointId}`).digest('hex').slice(0, 32)}`;

const meterOf = (event: DomainEvent): string | undefined =>
  'meter' in event.data && typeof event.data.meter === 'string' ? event.data.meter : undefined;

/** Whether an endpoint takes events of `type` (about `meter`, for the types that name one). */
export function subscribes(endpoint: Pick<WebhookEndpoint, 'eventTypes' | 'meters'>, type: DomainEventType, meter?: string): boolean {
  return endpoint.eventTypes.includes(type) && (meter === undefined || endpoint.meters === undefined || endpoint.meters.includes(meter));
}

/**
 * Whether a tenant takes `usage.recorded` for a meter: one of its endpoints subscribes. The answer is remembered
 * for `ttlMs`, so a tenant without the stream costs the consumer one read of its endpoints per container and
 * interval, and a new subscription takes effect within it.
 */
export function usageStreamSubscriptions(
  endpoints: Pick<WebhookStore, 'listEndpoints'>,
  ttlMs: number,
  now: () => number = Date.now,
): (tenantId: string, meter: string) => Promise<boolean> {
  const cache = new Map<string, { at: number; endpoints: WebhookEndpoint[] }>();
  return async (tenantId, meter) => {
    let hit = cache.get(tenantId);
    if (!hit || now() - hit.at >= ttlMs) {
      const subscribed = (await endpoints.listEndpoints(tenantId)).filter((e) => e.eventTypes.includes('usage.recorded'));
      hit = { at: now(), endpoints: subscribed };
      cache.set(tenantId, hit);
    }
    return hit.endpoints.some((e) => subscribes(e, 'usage.recorded', meter));
  };
}

export function notificationPublisher(ports: NotificationPorts): DomainEventPublisher {
  return {
    async publish(event) {
      await ports.bus.put(event);
      const endpoints = (await ports.endpoints.listEndpoints(event.tenantId)).filter((e) => subscribes(e, event.type, meterOf(event)));
      for (const endpoint of endpoints) {
        const now = new Date(ports.now()).toISOString();
        const stored = await ports.deliveries.createDelivery({
          id: deliveryIdOf(event.id, endpoint.id),
          tenantId: event.tenantId,
          endpointId: endpoint.id,
          eventId: event.id,
          eventType: event.type,
          payload: JSON.stringify(event),
          status: 'pending',
          attempts: [],
          createdAt: now,
        });
        if (stored.status === 'pending' && stored.attempts.length === 0) {
          await ports.queue.send({ tenantId: event.tenantId, deliveryId: stored.id, dueAt: now, seriesStart: now }, 0);
        }
      }
    },
  };
}

export interface DeliveryPorts {
  deliveries: Pick<WebhookStore, 'getDelivery' | 'recordAttempt'>;
  endpoints: Pick<WebhookStore, 'getEndpoint'>;
  queue: DeliveryQueue;
  /** POSTs the body; answers the receiver's status, or throws when no answer came (refused, timeout, blocked address). */
  post(url: string, body: string, headers: Record<string, string>): Promise<number>;
  retryBaseSeconds: number;
  now(): number;
  random(): number;
}

export type DeliveryOutcome = 'waiting' | 'skipped' | 'delivered' | 'retrying' | 'failed';

/**
 * Works one queue message: a message that is not due yet goes back on the queue for at most 15
 * minutes (SQS's limit), as many hops as the wait needs; a due one is signed with the endpoint's live
 * secrets and POSTed. A 2xx delivers it; anything else is recorded and retried with backoff until the
 * series has lasted 24 hours, then the delivery is `failed` (a tenant can replay it).
 */
export async function workDelivery(ports: DeliveryPorts, message: DeliveryMessage): Promise<DeliveryOutcome> {
  const now = ports.now();
  const dueAt = Date.parse(message.dueAt);
  if (dueAt > now + 1000) {
    await ports.queue.send(message, queueDelaySeconds(dueAt, now));
    return 'waiting';
  }
  const delivery = await ports.deliveries.getDelivery(message.tenantId, message.deliveryId);
  if (delivery?.status !== 'pending') return 'skipped';
  const endpoint = await ports.endpoints.getEndpoint(message.tenantId, delivery.endpointId);
  const started = ports.now();
  let attempt: DeliveryAttempt;
  if (!endpoint) {
    attempt = { at: new Date(started).toISOString(), error: 'the endpoint was deleted', durationMs: 0 };
    await ports.deliveries.recordAttempt(message.tenantId, delivery.id, attempt, { status: 'failed' });
    return 'failed';
  }
  const headers = {
    'content-type': 'application/json',
    'user-agent': 'Meterline-Webhooks/1',
    'meterline-event-id': delivery.eventId,
    'meterline-event-type': delivery.eventType,
    'meterline-delivery-id': delivery.id,
    'meterline-signature': signatureHeader(liveSecrets(endpoint, started), delivery.payload, Math.floor(started / 1000)),
  };
  try {
    const statusCode = await ports.post(endpoint.url, delivery.payload, headers);
    attempt = { at: new Date(started).toISOString(), statusCode, durationMs: ports.now() - started };
  } catch (error) {
    attempt = {
      at: new Date(started).toISOString(),
      error: error instanceof Error ? error.message : String(error),
      durationMs: ports.now() - started,
    };
  }
  if (attempt.statusCode !== undefined && attempt.statusCode >= 200 && attempt.statusCode < 300) {
    await ports.deliveries.recordAttempt(message.tenantId, delivery.id, attempt, { status: 'delivered' });
    return 'delivered';
  }
  const attemptsInSeries = delivery.attempts.filter((a) => Date.parse(a.at) >= Date.parse(message.seriesStart)).length + 1;
  const delay = retryDelaySeconds(attemptsInSeries, Date.parse(message.seriesStart), started, ports.retryBaseSeconds, ports.random());
  if (delay === undefined) {
    await ports.deliveries.recordAttempt(message.tenantId, delivery.id, attempt, { status: 'failed' });
    return 'failed';
  }
  const next = started + delay * 1000;
  await ports.deliveries.recordAttempt(message.tenantId, delivery.id, attempt, {
    status: 'pending',
    nextAttemptAt: new Date(next).toISOString(),
  });
  await ports.queue.send({ ...message, dueAt: new Date(next).toISOString() }, queueDelaySeconds(next, ports.now()));
  return 'retrying';
}
