import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { ClientError, firstIssue } from '../kernel/errors.js';
import { parseJson } from '../kernel/json.js';
import { type core, safeParse } from '../kernel/zod-mini.js';
import { logger } from './observability.js';

export type HttpEvent = APIGatewayProxyEventV2 & {
  requestContext: APIGatewayProxyEventV2['requestContext'] & { authorizer?: { lambda?: Record<string, unknown> } };
};
export type HttpResult = APIGatewayProxyStructuredResultV2;

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResult {
  return { statusCode, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

export function header(event: HttpEvent, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [k, v] of Object.entries(event.headers ?? {})) if (k.toLowerCase() === wanted) return v;
  return undefined;
}

export function rawBody(event: HttpEvent): Buffer {
  if (!event.body) return Buffer.alloc(0);
  return Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
}

/** The body as JSON, numbers exact from their text (`ExactNumber`): schemas read them with decimalField or numberField. */
export function jsonBody(event: HttpEvent): unknown {
  const text = rawBody(event).toString('utf8');
  if (text.trim() === '') throw new ClientError('INVALID_JSON', 'the request body is empty; send a JSON document');
  try {
    return parseJson(text);
  } catch {
    throw new ClientError('INVALID_JSON', 'the request body is not valid JSON');
  }
}

export function query(event: HttpEvent, name: string): string | undefined {
  return event.queryStringParameters?.[name] ?? undefined;
}

/**
 * Wraps a route function with the API's error contract: ClientErrors become their 4xx with
 * `{ code, message, field }`; anything else is logged and answered 500 without internals.
 */
export function httpApi(route: (event: HttpEvent, context: Context) => Promise<HttpResult>) {
  return middy<HttpEvent, HttpResult>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .handler(async (event, context) => {
      const { tenantId, keyId } = event.requestContext?.authorizer?.lambda ?? {};
      logger.appendKeys({ tenantId, keyId, requestId: event.requestContext?.requestId });
      try {
        checkPathParameters(event);
        return await route(event, context);
      } catch (error) {
        if (error instanceof ClientError) return errorAnswer(error);
        logger.error('unhandled error', { error: error as Error, routeKey: event.routeKey });
        return json(500, { code: 'INTERNAL', message: 'internal error', requestId: context.awsRequestId });
      }
    });
}

function errorAnswer(error: ClientError, headers: Record<string, string> = {}): HttpResult {
  return json(error.status, { code: error.code, message: error.message, ...(error.field ? { field: error.field } : {}) }, headers);
}

/** What a request check answers: headers for the answer, and a refusal when the route must not run. */
export interface CheckVerdict {
  headers: Record<string, string>;
  refusal?: ClientError;
}

/**
 * Runs `check` before the route (the per-tenant rate limit, shared/tenancy/rate-limits.ts): a refusal is answered
 * in the error contract without running the route, and the check's headers go on every answer either way.
 */
export function checkedBy(
  check: (event: HttpEvent) => Promise<CheckVerdict | undefined>,
): middy.MiddlewareObj<HttpEvent, HttpResult, Error, Context, { checkHeaders?: Record<string, string> }> {
  return {
    before: async (request) => {
      const verdict = await check(request.event);
      if (!verdict) return undefined;
      if (verdict.refusal) return errorAnswer(verdict.refusal, verdict.headers);
      request.internal.checkHeaders = verdict.headers;
      return undefined;
    },
    after: async (request) => {
      const headers = request.internal.checkHeaders;
      if (headers && request.response) request.response.headers = { ...request.response.headers, ...headers };
    },
  };
}

/** Dispatches on API Gateway's route key ("GET /v1/usage"); unknown routes get 404. */
export function routes(table: Record<string, (event: HttpEvent, context: Context) => Promise<HttpResult>>) {
  return async (event: HttpEvent, context: Context): Promise<HttpResult> => {
    const route = table[event.routeKey];
    if (!route)
      throw new ClientError('NOT_FOUND', `no route for ${event.requestContext?.http?.method ?? ''} ${event.rawPath ?? ''}`.trim());
    return route(event, context);
  };
}

/** Validates input with a zod schema; failures become 400 INVALID_REQUEST naming the field. */
export function parseInput<T>(schema: core.$ZodType<T>, input: unknown, field?: string): T {
  const r = safeParse(schema, input);
  if (r.success) return r.data;
  const issue = firstIssue(r.error);
  const at = field ?? issue.field;
  throw new ClientError('INVALID_REQUEST', issue.message, at);
}

/** Longer than any id the API hands out; a longer path segment is a client's mistake, never a lookup. */
export const MAX_PATH_PARAMETER_LENGTH = 256;

function checkPathParameters(event: HttpEvent): void {
  for (const [name, value] of Object.entries(event.pathParameters ?? {})) {
    if (value !== undefined && value.length > MAX_PATH_PARAMETER_LENGTH) {
      throw new ClientError(
        'INVALID_REQUEST',
        `${name} is ${value.length} characters long; the limit is ${MAX_PATH_PARAMETER_LENGTH}`,
        name,
      );
    }
  }
}
