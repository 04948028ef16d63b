import { beforeAll, inject } from 'vitest';
import { waitFor } from '../../local/net.js';

/**
 * Before each file of the tiers that use the emulators: waits until the run's DynamoDB Local answers, which
 * tests/support/global-setup.ts starts without waiting for it. Once it has answered, a file waits for one request.
 */
beforeAll(async () => {
  const endpoint = inject('dynamoEndpoint');
  const answers = async () => (await fetch(endpoint, { method: 'POST' }).catch(() => undefined)) !== undefined;
  await waitFor(answers, 120_000).catch(() => {
    throw new Error(`DynamoDB Local did not answer at ${endpoint} within two minutes; the run's output says why it did not start`);
  });
}, 150_000);
