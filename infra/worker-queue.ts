import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledge } from './nag.js';
import { secureQueue } from './usage-queue.js';

export interface WorkerQueueProps {
  /** What the queue carries, for the dead-letter queue's rule acknowledgement. */
  purpose: string;
  /** The longest timeout of the functions that consume the queue. */
  consumerTimeout: Duration;
  settings: { maxReceiveCount: number; maxBatchingWindowSeconds: number };
  /** Work waiting in either queue is a delivery or report not yet made: kept with the stack's data in prod. */
  removalPolicy: RemovalPolicy;
}

/**
 * A queue of work items for one worker function (webhook delivery attempts, Stripe report slices), and the
 * dead-letter queue behind it. Work never waits in flight beyond one run of the worker, so the visibility
 * timeout only has to cover that run.
 */
export class WorkerQueue extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: WorkerQueueProps) {
    super(scope, id);
    this.deadLetterQueue = secureQueue(this, 'DeadLetterQueue', { retentionPeriod: Duration.days(14), removalPolicy: props.removalPolicy });
    acknowledge(this.deadLetterQueue, {
      'Serverless-SQSRedrivePolicy': `This queue is itself the ${props.purpose} queue’s dead-letter queue; its messages are redriven by hand.`,
    });
    this.queue = secureQueue(this, 'Queue', {
      // AWS's rule for SQS event sources: six times the function timeout plus the batching window.
      visibilityTimeout: Duration.seconds(props.consumerTimeout.toSeconds() * 6 + props.settings.maxBatchingWindowSeconds),
      retentionPeriod: Duration.days(4),
      removalPolicy: props.removalPolicy,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.settings.maxReceiveCount },
    });
  }
}
