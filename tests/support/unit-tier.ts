import { vi } from 'vitest';

/**
 * The unit tier runs without DynamoDB Local and the SQS emulator: a file here that would start them (through
 * local/stack.ts or directly) fails at once with the rule, instead of quietly booting a JVM of its own.
 */
const refuse = (what: string) => () => {
  throw new Error(
    `${what} does not start in the unit tier. A test file that needs a local stack imports tests/support/stack.ts, ` +
      'which puts it in the stack tier (tests/support/tiers.ts); restart vitest if it is watching.',
  );
};

vi.mock('../../local/dynamodb-local.js', async (original) => ({
  ...(await original<object>()),
  startDynamoDbLocal: refuse('DynamoDB Local'),
}));
vi.mock('../../local/sqs-local.js', async (original) => ({ ...(await original<object>()), startSqsLocal: refuse('The SQS emulator') }));
