import { createSqsServer } from 'local-aws-sqs';
import { freePort } from './net.js';

/** The SQS emulator (AWS JSON protocol), in this process. It moves messages to a DLQ after maxReceiveCount. */
export async function startSqsLocal(options: { port?: number } = {}): Promise<{ endpoint: string; stop(): Promise<void> }> {
  const port = options.port ?? (await freePort());
  const server = await createSqsServer({ port, hostname: '127.0.0.1', emulateQueueCreationLifecycle: false });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () => new Promise<void>((done) => {
      server.closeAllConnections?.();
      server.close(() => done());
    }),
  };
}
