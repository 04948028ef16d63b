import type { Documents } from '../../shared/platform/dynamo/documents.js';

/**
 * A `Documents` (the port every DynamoDB adapter calls) that answers as a test scripts it, so an adapter's fault paths
 * are reached without a stack: each call goes to the handler named for its method, with its input and how many calls
 * of that method came before; a method with no handler fails the test. Every call is recorded, in order.
 */
export type DocumentsScript = {
  [M in keyof Documents]?: (input: Parameters<Documents[M]>[0], n: number) => unknown;
};

export interface FakeDocuments extends Documents {
  calls: { method: keyof Documents; input: any }[];
  /** The inputs of one method's calls, in order. */
  inputs(method: keyof Documents): any[];
}

const METHODS: (keyof Documents)[] = ['get', 'put', 'update', 'delete', 'query', 'scan', 'batchGet', 'batchWrite', 'transactWrite'];

export function fakeDocuments(script: DocumentsScript): FakeDocuments {
  const calls: FakeDocuments['calls'] = [];
  const fake = { calls, inputs: (method: keyof Documents) => calls.filter((c) => c.method === method).map((c) => c.input) };
  for (const method of METHODS) {
    (fake as any)[method] = async (input: any) => {
      const n = calls.filter((c) => c.method === method).length;
      calls.push({ method, input });
      const answer = script[method] as ((input: unknown, n: number) => unknown) | undefined;
      if (!answer) throw new Error(`unexpected DynamoDB ${method}`);
      return (await answer(input, n)) ?? {};
    };
  }
  return fake as FakeDocuments;
}

/** An error as both transports raise DynamoDB's: named by its code, its other fields (`CancellationReasons`) on it. */
export function awsError(name: string, message = name, fields: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), fields, { name, $metadata: { httpStatusCode: name === 'InternalServerError' ? 500 : 400 } });
}

/** A conditional write that lost. */
export const conditionFailed = () => awsError('ConditionalCheckFailedException', 'The conditional request failed');

/** Throttling after the transport's own retries. */
export const throttled = () =>
  awsError(
    'ProvisionedThroughputExceededException',
    'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
  );

/**
 * A cancelled TransactWriteItems: one reason per item, in item order (`None` for an item that did not fail), as
 * DynamoDB lists them in `CancellationReasons` and in the message; a reason is a code, or a code with its message.
 */
export function cancelled(...reasons: (string | { Code: string; Message?: string })[]): Error {
  const list = reasons.map((r) =>
    typeof r === 'string' ? (r === 'ConditionalCheckFailed' ? { Code: r, Message: 'The conditional request failed' } : { Code: r }) : r,
  );
  return awsError(
    'TransactionCanceledException',
    `Transaction cancelled, please refer cancellation reasons for specific reasons [${list.map((r) => r.Code).join(', ')}]`,
    { CancellationReasons: list },
  );
}
