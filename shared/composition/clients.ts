import { SQSClient } from '@aws-sdk/client-sqs';
import { httpSendMessageBatch, type SendMessageBatch } from '../platform/aws/sqs.js';
import type { Documents } from '../platform/dynamo/documents.js';
import { httpDocuments } from '../platform/dynamo/http-documents.js';

/**
 * The composition root, one file per context (tenancy.ts, metering.ts, billing.ts, alerts.ts, stripe.ts):
 * each function's handler.ts builds what it needs from its environment, once per container, and loads
 * only the contexts it uses, which keeps the request path's cold start small. Tests build the same
 * adapters around their own clients. Here: the clients every context shares, one per container.
 */
let db: Documents | undefined;
export const dynamo = (): Documents => (db ??= httpDocuments());

let sendBatch: SendMessageBatch | undefined;
export const sendMessageBatch = (): SendMessageBatch => (sendBatch ??= httpSendMessageBatch());

/** The SDK's SQS client, for the queues off the request path (webhook deliveries, report slices). */
let sqsClient: SQSClient | undefined;
export const sqs = (): SQSClient => (sqsClient ??= new SQSClient({}));
