import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { jsonClient } from '../../shared/platform/aws/json-client.js';

/**
 * The SDK-free AWS client against a stand-in endpoint that answers as DynamoDB does (AWS JSON 1.0: an error is a 4xx or
 * 5xx whose body names it in `__type`): what is retried, what is surfaced and how, and where requests go. The backoff
 * between attempts is recorded, not waited out.
 */
const local = { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' };
const dynamodb = { service: 'dynamodb', targetPrefix: 'DynamoDB_20120810', endpointId: 'DYNAMODB' };

type Answer = [number, object | string] | ((req: IncomingMessage, res: ServerResponse) => void);

const servers: { close(): void }[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/** An endpoint that answers from a script, one answer per request (the last one repeated); the requests it saw. */
async function scripted(answers: Answer[]) {
  const seen: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    const answer = answers[Math.min(seen.length, answers.length - 1)]!;
    seen.push(req);
    req.resume();
    req.on('end', () => {
      if (typeof answer === 'function') return answer(req, res);
      const [status, body] = answer;
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' }).end(typeof body === 'string' ? body : JSON.stringify(body));
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  servers.push({ close: () => (server.closeAllConnections(), server.close()) });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

/** A client of `url` whose backoffs are recorded rather than slept. */
function client(env: NodeJS.ProcessEnv) {
  const backoffs: number[] = [];
  const c = jsonClient(dynamodb, {
    env,
    sleep: async (ms) => {
      backoffs.push(ms);
    },
  });
  return { call: (operation = 'GetItem') => c.call<Record<string, unknown>>(operation, '{}'), backoffs };
}

const throttled: Answer = [
  400,
  { __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException', message: 'slow down' },
];

describe('the JSON protocol client: retries', () => {
  it('retries throttling and 5xx with a backoff, as the SDK standard mode does', async () => {
    const s = await scripted([throttled, [500, { __type: 'InternalServerError' }], [200, { Item: { pk: { S: 'x' } } }]]);
    const c = client({ ...local, AWS_ENDPOINT_URL_DYNAMODB: s.url });
    expect(await c.call()).toEqual({ Item: { pk: { S: 'x' } } });
    expect(s.seen).toHaveLength(3);
    // Full jitter: somewhere under 100 ms × 2^attempt.
    expect(c.backoffs).toHaveLength(2);
    expect(c.backoffs[0]).toBeLessThan(200);
    expect(c.backoffs[1]).toBeLessThan(400);
  });

  it('surfaces throttling after three attempts, named and worded as DynamoDB sent it', async () => {
    const s = await scripted([throttled]);
    const error = await client({ ...local, AWS_ENDPOINT_URL_DYNAMODB: s.url })
      .call()
      .catch((e: Error) => e);
    expect(error).toMatchObject({
      name: 'ProvisionedThroughputExceededException',
      message: 'slow down',
      $metadata: { httpStatusCode: 400 },
    });
    expect(s.seen).toHaveLength(3);
  });

  it('does not retry what the caller got wrong, nor a condition that failed, and keeps the fields DynamoDB sent', async () => {
    const s = await scripted([
      [400, { __type: 'com.amazon.coral.validate#ValidationException', message: 'bad key' }],
      [
        400,
        {
          __type: 'com.amazonaws.dynamodb.v20120810#TransactionCanceledException',
          Message: 'Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed]',
          CancellationReasons: [{ Code: 'None' }, { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' }],
        },
      ],
    ]);
    const c = client({ ...local, AWS_ENDPOINT_URL_DYNAMODB: s.url });
    expect(await c.call().catch((e: Error) => e)).toMatchObject({ name: 'ValidationException', message: 'bad key', $retryable: false });
    const cancelled = await c.call('TransactWriteItems').catch((e: Error) => e);
    expect(cancelled).toMatchObject({
      name: 'TransactionCanceledException',
      message: expect.stringContaining('[None, ConditionalCheckFailed]'),
      CancellationReasons: [{ Code: 'None' }, { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' }],
    });
    expect(s.seen).toHaveLength(2);
    expect(c.backoffs).toEqual([]);
  });

  it('names an error by its code, with the details some services add after a colon cut off', async () => {
    const s = await scripted([[400, { code: 'AWS.SimpleQueueService.NonExistentQueue:Sender', message: 'no such queue' }]]);
    expect(
      await client({ ...local, AWS_ENDPOINT_URL_DYNAMODB: s.url })
        .call()
        .catch((e: Error) => e),
    ).toMatchObject({ name: 'AWS.SimpleQueueService.NonExistentQueue', message: 'no such queue' });
  });

  it('a body that is not JSON (a proxy error page) is named by its status: a 5xx is retried, a 4xx surfaced at once', async () => {
    const s = await scripted([
      [502, '<html>Bad Gateway</html>'],
      [200, ''],
      [403, '<html>Forbidden</html>'],
    ]);
    const c = client({ ...local, AWS_ENDPOINT_URL_DYNAMODB: s.url });
    // An answer with an empty body is an empty result.
    expect(await c.call()).toEqual({});
    expect(await c.call().catch((e: Error) => e)).toMatchObject({ name: 'UnknownError', $metadata: { httpStatusCode: 403 } });
    expect(s.seen).toHaveLength(3);
  });

  it('a dropped connection is retried; an endpoint that refuses connections is surfaced with its code after three attempts', async () => {
    const s = await scripted([(req) => req.socket.destroy(), [200, { Count: 1 }]]);
    expect(await client({ ...local, AWS_ENDPOINT_URL_DYNAMODB: s.url }).call('Query')).toEqual({ Count: 1 });
    expect(s.seen).toHaveLength(2);

    const gone = await scripted([[200, {}]]);
    servers.pop()!.close();
    const c = client({ ...local, AWS_ENDPOINT_URL_DYNAMODB: gone.url });
    expect(await c.call().catch((e: Error) => e)).toMatchObject({ code: 'ECONNREFUSED', $retryable: true });
    expect(c.backoffs).toHaveLength(2);
  });
});

describe('the JSON protocol client: where and as whom', () => {
  it('signs with the session token Lambda puts in the environment and names the operation in X-Amz-Target', async () => {
    const s = await scripted([[200, {}]]);
    await client({ ...local, AWS_SESSION_TOKEN: 'session', AWS_ENDPOINT_URL_DYNAMODB: s.url }).call('PutItem');
    const [req] = s.seen;
    expect(req!.headers).toMatchObject({ 'x-amz-security-token': 'session', 'x-amz-target': 'DynamoDB_20120810.PutItem' });
    expect(req!.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=local\/\d{8}\/us-east-1\/dynamodb\/aws4_request/);
  });

  it('takes AWS_DEFAULT_REGION and the endpoint every service shares (AWS_ENDPOINT_URL) when nothing more specific is set', async () => {
    const s = await scripted([[200, {}]]);
    const { AWS_REGION: _, ...rest } = local;
    await client({ ...rest, AWS_DEFAULT_REGION: 'eu-west-1', AWS_ENDPOINT_URL: s.url }).call();
    expect(s.seen[0]!.headers.authorization).toContain('/eu-west-1/dynamodb/');
  });

  it('without a region or credentials it fails with a message that says which, before any request', async () => {
    const { AWS_REGION: _, ...noRegion } = local;
    await expect(client(noRegion).call()).rejects.toThrow('AWS_REGION is not set');
    const s = await scripted([[200, {}]]);
    await expect(client({ AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_DYNAMODB: s.url }).call()).rejects.toThrow(
      'AWS credentials are not in the environment',
    );
    expect(s.seen).toHaveLength(0);
  });
});
