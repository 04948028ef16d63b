import type { SendMessageBatchRequest, SendMessageBatchResult } from '@aws-sdk/client-sqs';
import { jsonClient } from './json-client.js';

/** SQS's SendMessageBatch, the one SQS call on the ingest path. */
export type SendMessageBatch = (input: SendMessageBatchRequest) => Promise<SendMessageBatchResult>;

/** SendMessageBatch over SQS's JSON protocol; the endpoint is AWS_ENDPOINT_URL_SQS when set. */
export function httpSendMessageBatch(env: NodeJS.ProcessEnv = process.env): SendMessageBatch {
  const client = jsonClient({ service: 'sqs', targetPrefix: 'AmazonSQS', endpointId: 'SQS' }, { env });
  return (input) => client.call('SendMessageBatch', JSON.stringify(input));
}
