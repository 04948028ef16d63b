import { existsSync, readFileSync } from 'node:fs';
import { beforeAll, inject } from 'vitest';
import { dynamoDbLocalAnswers } from '../../local/dynamodb-local.js';
import { waitFor } from '../../local/net.js';

/**
 * Before each file of the tiers that use the emulators: waits until the run's DynamoDB Local answers, which
 * tests/support/global-setup.ts starts without waiting for it, or fails at once with the reason it did not start.
 * Once it has answered, a file waits for one request.
 */
beforeAll(async () => {
  const endpoint = inject('dynamoEndpoint');
  const failure = inject('dynamoFailure');
  const answers = async () => {
    if (existsSync(failure)) throw new Error(`DynamoDB Local did not start: ${readFileSync(failure, 'utf8')}`);
    return dynamoDbLocalAnswers(endpoint);
  };
  // startDynamoDbLocal gives up after two minutes, and leaves its reason.
  await waitFor(answers, 150_000);
}, 160_000);
