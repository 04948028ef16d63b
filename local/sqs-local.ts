import { createSqsServer } from 'local-aws-sqs';
import { freePort } from './net.js';

/**
 * The SQS emulator (AWS JSON protocol), in this process. It moves messages to a DLQ after maxReceiveCount.
 * `requests` counts the API calls it served by action, for the benchmark's SQS-calls-per-event figure.
 */
export async function startSqsLocal(
  options: { port?: number } = {},
): Promise<{ endpoint: string; requests: Record<string, number>; stop(): Promise<void> }> {
  const port = options.port ?? (await freePort());
  const server = await createSqsServer({ port, hostname: '127.0.0.1', emulateQueueCreationLifecycle: false });
  const requests: Record<string, number> = {};
  server.on('request', (req) => {
    const action = String(req.headers['x-amz-target'] ?? 'query').replace('AmazonSQS.', '');
    requests[action] = (requests[action] ?? 0) + 1;
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    stop: () =>
      new Promise<void>((done) => {
        server.closeAllConnections?.();
        server.close(() => done());
      }),
  };
}
