import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal } from '../../local/dynamodb-local.js';
import { freePort } from '../../local/net.js';
import { startSqsLocal } from '../../local/sqs-local.js';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoEndpoint: string;
    /** A file that holds why DynamoDB Local did not start, once it has failed to. */
    dynamoFailure: string;
    sqsEndpoint: string;
  }
}

interface Emulators {
  dynamoEndpoint: string;
  dynamoFailure: string;
  sqsEndpoint: string;
  users: number;
  stop(): Promise<void>;
}

// The stack and browser tiers each load this file (one module instance per project), and share one pair of emulators.
const shared = globalThis as { meterlineEmulators?: Promise<Emulators> };

async function startEmulators(): Promise<Emulators> {
  // No test file starts before every global setup has returned, and DynamoDB Local takes seconds to start (more on a
  // fresh clone, which fetches it first). So it starts in the background: the files that use it wait for it
  // (tests/support/emulators-ready.ts), and the other tiers' files start at once. A failure to start is left in a file
  // for them, so that each fails at once with the reason rather than after waiting.
  const dynamoPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'meterline-emulators-'));
  const dynamoFailure = join(dir, 'dynamodb-local-failure');
  const dynamo = startDynamoDbLocal({ port: dynamoPort });
  dynamo.catch((error: Error) => writeFileSync(dynamoFailure, error.message));
  const sqs = await startSqsLocal();
  return {
    dynamoEndpoint: `http://127.0.0.1:${dynamoPort}`,
    dynamoFailure,
    sqsEndpoint: sqs.endpoint,
    users: 0,
    stop: async () => {
      await sqs.stop();
      await (await dynamo.catch(() => undefined))?.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** DynamoDB Local and the SQS emulator, started only for the tiers that need them, once for the run. */
export default async function setup(project: TestProject) {
  shared.meterlineEmulators ??= startEmulators();
  const emulators = await shared.meterlineEmulators;
  emulators.users += 1;
  project.provide('dynamoEndpoint', emulators.dynamoEndpoint);
  project.provide('dynamoFailure', emulators.dynamoFailure);
  project.provide('sqsEndpoint', emulators.sqsEndpoint);
  return async () => {
    emulators.users -= 1;
    if (emulators.users > 0) return;
    shared.meterlineEmulators = undefined;
    await emulators.stop();
  };
}
