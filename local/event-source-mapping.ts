import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { FunctionName } from '../infra/catalog.js';
import { chunk } from '../shared/kernel/batching.js';
import { asFunction } from './aws-calls.js';
import { type Handler, LOCAL_REGION, lambdaContext } from './lambda.js';

export interface EventSourceMappingOptions {
  sqs: SQSClient;
  queueUrl: string;
  queueArn: string;
  functionName: FunctionName;
  timeoutSeconds: number;
  handler: Handler<SQSEvent, SQSBatchResponse | void>;
  batchSize: number;
  maxBatchingWindowMs: number;
  /** Concurrent pollers, like the mapping's maximum concurrency. */
  concurrency: number;
  /**
   * Seconds before a failed record is received again; the queue's visibility timeout when absent, as in AWS. Tests
   * that fail many batches on purpose shorten the wait without shortening the visibility timeout, which must still
   * outlast an invocation in flight.
   */
  retryDelaySeconds?: number;
}

export interface EventSourceMapping {
  stop(): Promise<void>;
  readonly stats: {
    invocations: number;
    records: number;
    /** Records received again (ApproximateReceiveCount above 1): a failure, or a visibility timeout shorter than a batch. */
    redelivered: number;
    failedRecords: number;
    receiveCalls: number;
    deleteCalls: number;
  };
}

/**
 * Plays Lambda's SQS event source mapping: gathers batches, invokes the handler, deletes what it did not
 * report in `batchItemFailures`, and leaves the rest to come back after the visibility timeout (and to
 * the DLQ after maxReceiveCount). A thrown error, or a failure naming an unknown message, fails the batch.
 */
export function startEventSourceMapping(o: EventSourceMappingOptions): EventSourceMapping {
  let running = true;
  // Stopping ends a long poll at once rather than after its wait; what a receive cut short had taken is visible again
  // after the visibility timeout, as after any receive whose batch was not deleted.
  const stopped = new AbortController();
  const stats = { invocations: 0, records: 0, redelivered: 0, failedRecords: 0, receiveCalls: 0, deleteCalls: 0 };

  const receive = async (max: number, waitSeconds: number): Promise<Message[]> => {
    stats.receiveCalls += 1;
    // Lambda's poller receives and deletes with the function's role: the calls count as the function's.
    const r = await asFunction(o.functionName, () =>
      o.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: o.queueUrl,
          MaxNumberOfMessages: Math.min(10, max),
          WaitTimeSeconds: waitSeconds,
          MessageSystemAttributeNames: ['All'],
          // The emulator reads only the older parameter name; AWS accepts both.
          AttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
        { abortSignal: stopped.signal },
      ),
    );
    return r.Messages ?? [];
  };

  const poll = async () => {
    while (running) {
      let messages: Message[];
      try {
        // SQS answers a long poll as soon as it has messages; the emulator only once it has as many as were asked for.
        // So the long poll asks for one, and what else is there is taken at once, as one SQS receive would return it.
        // It waits the longest SQS allows, as Lambda's pollers do: an idle mapping then costs a call per 20 s, not per second.
        messages = await receive(1, 20);
        if (messages.length > 0 && o.batchSize > 1) messages.push(...(await receive(o.batchSize - 1, 0)));
        const deadline = Date.now() + o.maxBatchingWindowMs;
        while (running && messages.length > 0 && messages.length < o.batchSize && Date.now() < deadline) {
          const more = await receive(o.batchSize - messages.length, 0);
          if (more.length === 0) break;
          messages.push(...more);
        }
      } catch {
        if (running) await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      if (messages.length > 0) await invoke(messages);
    }
  };

  const invoke = async (messages: Message[]) => {
    const records = messages.map(toRecord);
    stats.invocations += 1;
    stats.records += records.length;
    stats.redelivered += records.filter((r) => Number(r.attributes.ApproximateReceiveCount) > 1).length;
    let failed: Set<string>;
    try {
      const response = await o.handler({ Records: records }, lambdaContext(o.functionName, o.timeoutSeconds));
      const ids = (response?.batchItemFailures ?? []).map((f) => f.itemIdentifier);
      const known = new Set(records.map((r) => r.messageId));
      failed = ids.every((id) => id && known.has(id)) ? new Set(ids) : known;
    } catch {
      failed = new Set(records.map((r) => r.messageId));
    }
    stats.failedRecords += failed.size;
    if (o.retryDelaySeconds !== undefined) {
      const retry = messages.filter((m) => failed.has(m.MessageId!));
      for (const batch of chunk(retry, 10)) {
        await o.sqs
          .send(
            new ChangeMessageVisibilityBatchCommand({
              QueueUrl: o.queueUrl,
              Entries: batch.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle!, VisibilityTimeout: o.retryDelaySeconds })),
            }),
          )
          .catch(() => undefined);
      }
    }
    const done = messages.filter((m) => !failed.has(m.MessageId!));
    for (const batch of chunk(done, 10)) {
      stats.deleteCalls += 1;
      await asFunction(o.functionName, () =>
        o.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: o.queueUrl,
            Entries: batch.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
          }),
        ),
      ).catch(() => undefined);
    }
  };

  const toRecord = (m: Message): SQSRecord => ({
    messageId: m.MessageId!,
    receiptHandle: m.ReceiptHandle!,
    body: m.Body ?? '',
    attributes: {
      ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? '1',
      SentTimestamp: m.Attributes?.SentTimestamp ?? String(Date.now()),
      SenderId: m.Attributes?.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: m.Attributes?.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: m.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: o.queueArn,
    awsRegion: LOCAL_REGION,
  });

  const pollers = Array.from({ length: o.concurrency }, poll);
  return {
    stats,
    stop: async () => {
      running = false;
      stopped.abort();
      await Promise.all(pollers);
    },
  };
}
