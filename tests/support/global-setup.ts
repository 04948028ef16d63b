import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal } from '../../local/dynamodb-local.js';
import { startSqsLocal } from '../../local/sqs-local.js';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoEndpoint: string;
    sqsEndpoint: string;
  }
}

interface Emulators {
  dynamoEndpoint: string;
  sqsEndpoint: string;
  users: number;
  stop(): Promise<void>;
}

// The stack and browser tiers each load this file (one module instance per project), and share one pair of emulators.
const shared = globalThis as { meterlineEmulators?: Promise<Emulators> };

async function startEmulators(): Promise<Emulators> {
  const dynamo = await startDynamoDbLocal();
  const sqs = await startSqsLocal();
  return {
    dynamoEndpoint: dynamo.endpoint,
    sqsEndpoint: sqs.endpoint,
    users: 0,
    stop: async () => {
      await sqs.stop();
      await dynamo.stop();
    },
  };
}

/** DynamoDB Local and the SQS emulator, started only for the tiers that need them, once for the run. */
export default async function setup(project: TestProject) {
  shared.meterlineEmulators ??= startEmulators();
  const emulators = await shared.meterlineEmulators;
  emulators.users += 1;
  project.provide('dynamoEndpoint', emulators.dynamoEndpoint);
  project.provide('sqsEndpoint', emulators.sqsEndpoint);
  return async () => {
    emulators.users -= 1;
    if (emulators.users > 0) return;
    shared.meterlineEmulators = undefined;
    await emulators.stop();
  };
}
