import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import type { HttpEvent } from '../../shared/http/api.js';

/** The official sample Lambda events in ../shared/aws-events (aws/aws-lambda-go, Apache-2.0). */
export function officialSample<T>(name: string): T {
  return JSON.parse(readFileSync(resolve(import.meta.dirname, '..', '..', '..', 'shared', 'aws-events', name), 'utf8')) as T;
}

export function lambdaContext(functionName = 'test'): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: 'test-request',
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'test',
    getRemainingTimeInMillis: () => 10_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** An HTTP API event as API Gateway builds it after the authorizer let a tenant (or admin) key through. */
export function httpEvent(o: { routeKey: string; body?: unknown; tenantId?: string; admin?: boolean; query?: Record<string, string>; path?: Record<string, string> }): HttpEvent {
  const sample = officialSample<APIGatewayProxyEventV2>('apigw-v2-request-no-authorizer.json');
  const [method, rawPath] = o.routeKey.split(' ') as [string, string];
  return {
    ...sample,
    routeKey: o.routeKey,
    rawPath,
    headers: { ...sample.headers, 'content-type': 'application/json' },
    ...(o.query ? { queryStringParameters: o.query } : {}),
    ...(o.path ? { pathParameters: o.path } : {}),
    requestContext: {
      ...sample.requestContext,
      routeKey: o.routeKey,
      http: { ...sample.requestContext.http, method, path: rawPath },
      authorizer: { lambda: o.admin ? { role: 'admin', keyId: 'k-admin' } : { role: 'tenant', keyId: 'k-1', tenantId: o.tenantId ?? 'acme' } },
    },
    ...(o.body !== undefined ? { body: JSON.stringify(o.body), isBase64Encoded: false } : {}),
  };
}
