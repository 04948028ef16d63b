import { Duration } from 'aws-cdk-lib';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { webhookQueueSettings } from './catalog.js';
import { acknowledge } from './nag.js';
import { secureQueue } from './usage-queue.js';

export interface WebhookQueueProps {
  /** The longest timeout of the functions that consume the queue. */
  consumerTimeout: Duration;
}

/**
 * The webhook delivery queue: one message per due attempt. Retries are new messages delayed by at most
 * 900 s (SQS's DelaySeconds limit), re-queued until due, so a message never waits in flight and the
 * queue's visibility timeout only has to cover one run of the worker.
 */
export class WebhookQueue extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: WebhookQueueProps) {
    super(scope, id);
    this.deadLetterQueue = secureQueue(this, 'DeadLetterQueue', { retentionPeriod: Duration.days(14) });
    acknowledge(this.deadLetterQueue, {
      'Serverless-SQSRedrivePolicy': 'This queue is itself the webhook queue’s dead-letter queue; its messages are redriven by hand.',
    });
    this.queue = secureQueue(this, 'Queue', {
      // AWS's rule for SQS event sources: six times the function timeout plus the batching window.
      visibilityTimeout: Duration.seconds(props.consumerTimeout.toSeconds() * 6 + webhookQueueSettings.maxBatchingWindowSeconds),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: webhookQueueSettings.maxReceiveCount },
    });
  }
}
