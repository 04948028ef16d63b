import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { usageQueueSettings } from './catalog.js';
import { acknowledge } from './nag.js';

export interface UsageQueueProps {
  /** The longest timeout of the functions that consume the queue. */
  consumerTimeout: Duration;
  /** Events waiting in either queue are usage not yet counted: kept with the stack's data in prod. */
  removalPolicy: RemovalPolicy;
}

/** The queue between ingest and aggregation, and the dead-letter queue behind it. */
export class UsageQueue extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: UsageQueueProps) {
    super(scope, id);
    this.deadLetterQueue = secureQueue(this, 'DeadLetterQueue', {
      // The longest SQS allows: time to find the cause and redrive before anything is lost.
      retentionPeriod: Duration.days(14),
      removalPolicy: props.removalPolicy,
    });
    acknowledge(this.deadLetterQueue, {
      'Serverless-SQSRedrivePolicy':
        'This queue is itself the usage queue’s dead-letter queue; its messages are redriven by hand (docs/operations.md).',
    });
    this.queue = secureQueue(this, 'Queue', {
      // AWS's rule for SQS event sources: six times the function timeout plus the batching window, so a batch
      // still being retried by a throttled or slow consumer is not delivered to a second one.
      visibilityTimeout: Duration.seconds(props.consumerTimeout.toSeconds() * 6 + usageQueueSettings.maxBatchingWindowSeconds),
      retentionPeriod: Duration.days(4),
      removalPolicy: props.removalPolicy,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: usageQueueSettings.maxReceiveCount },
    });
  }
}

/** SQS-managed encryption (no key policy to grant every producer) and TLS-only access. */
export function secureQueue(scope: Construct, id: string, props: ConstructorParameters<typeof Queue>[2] = {}): Queue {
  return new Queue(scope, id, { ...props, encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true });
}
