import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBridgeBus } from '../../shared/alerts/adapters/event-bus.js';
import { domainEvent } from '../../shared/events/domain-events.js';

/**
 * PutEvents answers 200 even when it refuses an entry (FailedEntryCount, with the entry's ErrorCode): the bus turns
 * that into an error, so the publisher retries instead of counting the event as delivered.
 */
describe('the EventBridge bus', () => {
  const eventBridge = mockClient(EventBridgeClient);
  const bus = new EventBridgeBus(new EventBridgeClient({ region: 'eu-west-1' }), 'meterline-prod');
  const event = domainEvent(
    'quota.exceeded',
    'acme',
    'quota:api_calls:2026-03-01',
    {
      meter: 'api_calls',
      limit: '1000',
      value: '1000',
      period: { start: '2026-03-01T00:00:00.000Z', end: '2026-04-01T00:00:00.000Z' },
    },
    '2026-03-14T09:30:00.000Z',
  );
  afterEach(() => eventBridge.reset());

  it('puts the event with source meterline, its type as detail-type and itself as detail', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
    await bus.put(event);
    expect(eventBridge.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries).toEqual([
      {
        EventBusName: 'meterline-prod',
        Source: 'meterline',
        DetailType: 'quota.exceeded',
        Time: new Date('2026-03-14T09:30:00.000Z'),
        Detail: JSON.stringify(event),
      },
    ]);
  });

  it('fails on an entry the bus refused, naming the event and the refusal', async () => {
    eventBridge
      .on(PutEventsCommand)
      .resolvesOnce({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' }] })
      .resolvesOnce({ FailedEntryCount: 1 });
    await expect(bus.put(event)).rejects.toThrow(`the event bus refused ${event.id}: ThrottlingException Rate exceeded`);
    await expect(bus.put(event)).rejects.toThrow(`the event bus refused ${event.id}: unknown`);
  });
});
