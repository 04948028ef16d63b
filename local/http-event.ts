import type { HttpEvent } from '../shared/platform/http.js';

/** An HTTP API event as API Gateway builds it after the authorizer let a tenant (or admin) key through. */
export function httpEvent(o: {
  routeKey: string;
  body?: unknown;
  tenantId?: string;
  admin?: boolean;
  query?: Record<string, string>;
  path?: Record<string, string>;
}): HttpEvent {
  const [method, rawPath] = o.routeKey.split(' ') as [string, string];
  const now = Date.now();
  return {
    version: '2.0',
    routeKey: o.routeKey,
    rawPath,
    rawQueryString: new URLSearchParams(o.query ?? {}).toString(),
    headers: { 'content-type': 'application/json', host: 'api.example.com' },
    ...(o.query ? { queryStringParameters: o.query } : {}),
    ...(o.path ? { pathParameters: o.path } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: 'api',
      domainName: 'api.example.com',
      domainPrefix: 'api',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'test' },
      requestId: 'request',
      routeKey: o.routeKey,
      stage: '$default',
      time: new Date(now).toUTCString(),
      timeEpoch: now,
      authorizer: {
        lambda: o.admin ? { role: 'admin', keyId: 'k-admin' } : { role: 'tenant', keyId: 'k-1', tenantId: o.tenantId ?? 'acme' },
      },
    },
    ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
    isBase64Encoded: false,
  };
}
