import type { Agent, request } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { backoffDelay, sleep } from '../../kernel/retry.js';
import { type Credentials, signatureV4 } from './signature.js';

/** An AWS service spoken in its JSON protocol (AWS JSON 1.0: one POST per operation, named by X-Amz-Target). */
export interface JsonService {
  /** The signing name and endpoint prefix: `dynamodb`, `sqs`. */
  service: string;
  /** The X-Amz-Target prefix: `DynamoDB_20120810`, `AmazonSQS`. */
  targetPrefix: string;
  /** The suffix of the AWS_ENDPOINT_URL_<ID> variable that points it elsewhere (DynamoDB Local, the SQS emulator). */
  endpointId: string;
}

export interface JsonClientOptions {
  env?: NodeJS.ProcessEnv;
  /** How the backoff between attempts is waited out: a timer, unless a test drives the retries without waiting. */
  sleep?: (ms: number) => Promise<void>;
}

/** A failure as the service named it: `name` is its error code (ConditionalCheckFailedException, ...), other fields as sent. */
type AwsError = Error & { $metadata: { httpStatusCode?: number }; $retryable?: boolean } & Record<string, unknown>;

/** Attempts per call, the first included, as in the AWS SDK's standard retry mode. */
const MAX_ATTEMPTS = 3;

const THROTTLING = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'LimitExceededException',
  'ThrottledException',
]);
const TRANSIENT_NETWORK = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND']);

/**
 * The few AWS calls on a request's path (API key reads, the usage queue) without the AWS SDK, whose client
 * costs 60 ms of every cold start: the same wire protocol, Signature Version 4, the credentials Lambda puts
 * in the environment, keep-alive connections, and the SDK's standard retries (throttling, 5xx, dropped
 * connections; exponential backoff with full jitter).
 */
export function jsonClient(spec: JsonService, options: JsonClientOptions = {}) {
  const env = options.env ?? process.env;
  const pause = options.sleep ?? sleep;
  // Read on the first call, as the SDK does: a module may build its clients before its environment is complete.
  let target: { region: string; url: URL; agent: Agent; send: typeof request } | undefined;
  const resolve = () => {
    if (target) return target;
    const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
    if (!region) throw new Error('AWS_REGION is not set');
    const url = new URL(
      env[`AWS_ENDPOINT_URL_${spec.endpointId}`] ?? env.AWS_ENDPOINT_URL ?? `https://${spec.service}.${region}.amazonaws.com`,
    );
    // AWS endpoints are HTTPS. Plain HTTP reaches only the local emulators, and Node 22's node:http costs
    // about 30 ms to load (it brings undici and http2 with it), so it loads only when such an endpoint is called.
    const http = url.protocol === 'https:' ? { Agent: HttpsAgent, request: httpsRequest } : process.getBuiltinModule('node:http');
    target = { region, url, agent: new http.Agent({ keepAlive: true, maxSockets: 50 }), send: http.request };
    return target;
  };

  const credentials = (): Credentials => {
    const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN: sessionToken } = env;
    if (!accessKeyId || !secretAccessKey)
      throw new Error('AWS credentials are not in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)');
    return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
  };

  const once = (operation: string, body: string) =>
    new Promise<{ status: number; text: string }>((done, reject) => {
      const { region, url, agent, send } = resolve();
      const headers = signatureV4(
        {
          method: 'POST',
          url,
          headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `${spec.targetPrefix}.${operation}` },
          body,
        },
        { service: spec.service, region },
        credentials(),
        new Date(),
      );
      const req = send(url, { method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });

  return {
    /** One operation with its JSON body; the parsed answer, or the service's error after the retries. */
    async call<Output>(operation: string, body: string): Promise<Output> {
      for (let attempt = 1; ; attempt++) {
        let error: AwsError;
        try {
          const { status, text } = await once(operation, body);
          if (status >= 200 && status < 300) return (text ? JSON.parse(text) : {}) as Output;
          error = serviceError(status, text);
        } catch (e) {
          error = networkError(e);
        }
        if (!error.$retryable || attempt >= MAX_ATTEMPTS) throw error;
        await pause(backoffDelay(attempt, 100, 20_000));
      }
    },
  };
}

function serviceError(status: number, text: string): AwsError {
  let fields: Record<string, unknown> = {};
  try {
    fields = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // a body that is not JSON (a proxy's error page): the status says enough
  }
  const type = String(fields.__type ?? fields.code ?? (status >= 500 ? 'InternalServerError' : 'UnknownError'));
  // `com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException`, sometimes with `:<details>` after it
  const name = type.slice(type.lastIndexOf('#') + 1).split(':')[0]!;
  const { __type: _, message, Message, ...rest } = fields;
  const error = Object.assign(new Error(String(message ?? Message ?? name)), rest, {
    name,
    $metadata: { httpStatusCode: status },
    $retryable: status >= 500 || THROTTLING.has(name),
  });
  return error as AwsError;
}

function networkError(e: unknown): AwsError {
  const code = (e as { code?: string }).code ?? '';
  const error = e instanceof Error ? e : new Error(String(e));
  return Object.assign(error, {
    $metadata: {},
    $retryable: TRANSIENT_NETWORK.has(code) || error.message === 'socket hang up',
  }) as AwsError;
}
