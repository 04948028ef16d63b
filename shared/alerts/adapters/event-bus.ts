import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { DomainEvent } from '../../events/domain-events.js';
import type { EventBus } from '../ports.js';

/**
 * Domain events onto the Meterline event bus: source `meterline`, detail-type the event's type, detail
 * the event itself (its `id` is stable; EventBridge's own event id is not, a retried PutEvents makes a new one).
 */
export class EventBridgeBus implements EventBus {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly busName: string,
  ) {}

  async put(event: DomainEvent): Promise<void> {
    const r = await this.client.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: this.busName,
            Source: 'meterline',
            DetailType: event.type,
            Time: new Date(event.occurredAt),
            Detail: JSON.stringify(event),
          },
        ],
      }),
    );
    if (r.FailedEntryCount)
      throw new Error(
        `the event bus refused ${event.id}: ${r.Entries?.[0]?.ErrorCode ?? 'unknown'} ${r.Entries?.[0]?.ErrorMessage ?? ''}`.trim(),
      );
  }
}
