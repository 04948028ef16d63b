import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { EmailWork } from '../email.js';
import type { DeliveryQueue, EmailQueue } from '../ports.js';
import type { DeliveryMessage } from '../webhooks.js';

/**
 * A delivery queue (webhook deliveries, emails): a message per attempt that is due, delayed by at most SQS's 900
 * seconds.
 */
export class SqsDeliveryQueue implements DeliveryQueue, EmailQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(message: DeliveryMessage | EmailWork, delaySeconds: number): Promise<void> {
    await this.client.send(
      new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: JSON.stringify(message), DelaySeconds: delaySeconds }),
    );
  }
}
