import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { AlertNotifier } from '../ports.js';
import type { AlertNotification } from '../rules.js';

/** Publishes fired alerts on the Meterline event bus, where rules route them to email, chat or webhooks. */
export class EventBridgeAlertNotifier implements AlertNotifier {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly busName: string,
  ) {}

  async notify(notification: AlertNotification): Promise<void> {
    const r = await this.client.send(
      new PutEventsCommand({
        Entries: [
          { EventBusName: this.busName, Source: 'meterline', DetailType: 'Usage Alert Fired', Detail: JSON.stringify(notification) },
        ],
      }),
    );
    if (r.FailedEntryCount) throw new Error(`event bus refused the alert: ${r.Entries?.[0]?.ErrorCode ?? 'unknown'}`);
  }
}
