import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { ReportQueue } from '../ports.js';
import type { ReportSlice } from '../report-slices.js';

/** The report queue: one message per slice of tenants (at most 1,000 ids, well under SQS's message size). */
export class SqsReportQueue implements ReportQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(slice: ReportSlice): Promise<void> {
    await this.client.send(new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: JSON.stringify(slice) }));
  }
}
