import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import type { AuthorizerResult } from '../functions/authorizer/authorizer.js';
import type { ApiCors } from '../infra/cors.js';
import { type Handler, LOCAL_ACCOUNT, lambdaContext } from './lambda.js';

export interface Route {
  routeKey: string;
  functionName: string;
  timeoutSeconds: number;
  handler: Handler<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>;
}

export interface GatewayOptions {
  port: number;
  routes: Route[];
  authorizer: Handler<APIGatewayRequestAuthorizerEventV2, AuthorizerResult>;
  /** API Gateway caches authorizer answers per Authorization header; 0 turns the cache off. */
  authorizerCacheTtlMs: number;
  /** Requests no route claims, for local-only endpoints. */
  fallback?: (req: IncomingMessage, res: ServerResponse, body: Buffer) => Promise<boolean>;
  /** The API's CORS configuration, answered as API Gateway answers it. */
  cors: ApiCors;
  /**
   * While it answers a number of seconds the gateway is shutting down: API requests get 503 with that Retry-After,
   * as API Gateway answers while a function cannot be reached; function URLs (Stripe's webhooks) still answer.
   */
  refuseFor?: () => number | undefined;
}

/** HTTP API payload limit. */
const MAX_BODY = 10 * 1024 * 1024;

/**
 * Plays API Gateway's HTTP API (payload format 2.0) on localhost: route matching, the Lambda authorizer
 * with its cache, the event it builds and the way it turns a result into a response.
 */
export function startGateway(o: GatewayOptions): Promise<Server> {
  const matchers = o.routes
    .map((route) => {
      const [method, path] = route.routeKey.split(' ') as [string, string];
      const names: string[] = [];
      const pattern = new RegExp(
        `^${path.replace(/\{(\w+)(\+?)\}/g, (_, name: string, greedy: string) => (names.push(name), greedy ? '(.+)' : '([^/]+)'))}$`,
      );
      return { route, method, pattern, names, greedy: path.includes('+}') };
    })
    // API Gateway prefers the most specific route: a greedy {proxy+} only takes what nothing else matches.
    .sort((a, b) => Number(a.greedy) - Number(b.greedy));
  const cache = new Map<string, { at: number; result: AuthorizerResult }>();

  const authorize = async (event: APIGatewayRequestAuthorizerEventV2, header: string) => {
    const hit = cache.get(header);
    if (hit && Date.now() - hit.at < o.authorizerCacheTtlMs) return hit.result;
    const result = await o.authorizer(event, lambdaContext('authorizer', 5));
    if (o.authorizerCacheTtlMs > 0) cache.set(header, { at: Date.now(), result });
    return result;
  };

  const server = createServer(async (req, res) => {
    // As API Gateway with a CORS configuration: a preflight is answered without a route, and every answer to a request
    // with an Origin names the origins allowed (its own 401 and 403 included).
    const origin = req.headers.origin;
    const allowed = origin === undefined ? undefined : allowedOrigin(o.cors, origin);
    if (allowed !== undefined) res.setHeader('access-control-allow-origin', allowed);
    if (req.method === 'OPTIONS' && allowed !== undefined && req.headers['access-control-request-method'] !== undefined) {
      res.writeHead(204, {
        'access-control-allow-methods': o.cors.allowMethods.join(','),
        'access-control-allow-headers': o.cors.allowHeaders.join(','),
        'access-control-max-age': String(o.cors.maxAgeSeconds),
      });
      return res.end();
    }
    const retryAfter = o.refuseFor?.();
    if (retryAfter !== undefined && !req.url?.startsWith('/_url/')) {
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': String(retryAfter), connection: 'close' });
      res.end(JSON.stringify({ code: 'SHUTTING_DOWN', message: `the local stack is stopping; try again in ${retryAfter} s` }));
      return;
    }
    try {
      const body = await readBody(req);
      if (body === undefined) return send(res, 413, { message: 'Request Entity Too Large' });
      const url = new URL(req.url ?? '/', 'http://localhost');
      const method = req.method ?? 'GET';
      const candidates = matchers
        .map((m) => ({ m, found: m.method === method ? m.pattern.exec(url.pathname) : null }))
        .filter((x) => x.found);
      const specific = candidates.find((x) => !x.m.greedy);
      // Local-only endpoints (function URLs, schedules) live beside the API, so they come before its catch-all.
      if (!specific && o.fallback && (await o.fallback(req, res, body))) return;
      const match = specific ?? candidates[0];
      if (!match) return send(res, 404, { message: 'Not Found' });
      const { m, found } = match;
      const headers = Object.fromEntries(
        Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(',') : (v ?? '')]),
      );
      const pathParameters = Object.fromEntries(m.names.map((n, i) => [n, decodePath(found![i + 1]!)]));
      const query: Record<string, string> = {};
      for (const [k, v] of url.searchParams) query[k] = k in query ? `${query[k]},${v}` : v;
      const now = new Date();
      const requestContext = {
        accountId: LOCAL_ACCOUNT,
        apiId: 'local',
        domainName: req.headers.host ?? 'localhost',
        domainPrefix: 'local',
        http: {
          method,
          path: url.pathname,
          protocol: `HTTP/${req.httpVersion}`,
          sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
          userAgent: req.headers['user-agent'] ?? '',
        },
        requestId: randomUUID(),
        routeKey: m.route.routeKey,
        stage: '$default',
        time: now.toUTCString(),
        timeEpoch: now.getTime(),
      };
      const common = {
        version: '2.0',
        routeKey: m.route.routeKey,
        rawPath: url.pathname,
        rawQueryString: url.search.slice(1),
        headers,
        ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
        ...(m.names.length ? { pathParameters } : {}),
      };

      // API Gateway's own answers: 401 without invoking the authorizer when the identity source (the header) is
      // missing or empty, 403 when the authorizer denies; neither reaches a route function.
      const authorization = headers.authorization;
      if (!authorization) return send(res, 401, { message: 'Unauthorized' });
      const auth = await authorize(
        {
          ...common,
          type: 'REQUEST',
          routeArn: `arn:aws:execute-api:local:${LOCAL_ACCOUNT}:local/$default/${method}${url.pathname}`,
          identitySource: [authorization],
          requestContext,
        } as APIGatewayRequestAuthorizerEventV2,
        authorization,
      );
      if (!auth.isAuthorized) return send(res, 403, { message: 'Forbidden' });

      const text = isText(headers, body);
      const event = {
        ...common,
        requestContext: { ...requestContext, authorizer: { lambda: auth.context } },
        ...(body.length ? { body: text ? body.toString('utf8') : body.toString('base64') } : {}),
        isBase64Encoded: body.length > 0 && !text,
      } as APIGatewayProxyEventV2;
      const result = await m.route.handler(event, lambdaContext(m.route.functionName, m.route.timeoutSeconds));
      res.writeHead(result.statusCode ?? 200, {
        ...(result.headers as Record<string, string>),
        ...(result.cookies ? { 'set-cookie': result.cookies } : {}),
      });
      res.end(result.body ? Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8') : undefined);
    } catch (error) {
      console.error('local gateway: handler failed', error);
      send(res, 500, { message: 'Internal Server Error' });
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, '127.0.0.1', () => resolve(server));
  });
}

function allowedOrigin(cors: ApiCors, origin: string): string | undefined {
  const origins: readonly string[] = cors.allowOrigins;
  return origins.includes('*') ? '*' : origins.includes(origin) ? origin : undefined;
}

/** The event a Lambda function URL builds (payload 2.0, no authorizer). */
export function functionUrlEvent(req: IncomingMessage, url: URL, path: string, body: Buffer): APIGatewayProxyEventV2 {
  const headers = Object.fromEntries(
    Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(',') : (v ?? '')]),
  );
  const text = isText(headers, body);
  const now = new Date();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: url.search.slice(1),
    headers,
    requestContext: {
      accountId: 'anonymous',
      apiId: 'local',
      domainName: req.headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: {
        method: req.method ?? 'GET',
        path,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: req.headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(body.length ? { body: text ? body.toString('utf8') : body.toString('base64') } : {}),
    isBase64Encoded: body.length > 0 && !text,
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A body reaches the function as text only when it is text: a text media type, not compressed, valid UTF-8. */
function isText(headers: Record<string, string>, body: Buffer): boolean {
  const contentType = headers['content-type'];
  const encoding = headers['content-encoding'];
  if (encoding && encoding.toLowerCase() !== 'identity') return false;
  if (contentType && !/^(text\/|application\/([\w.+-]*\+)?json|application\/x-www-form-urlencoded|application\/xml)/i.test(contentType))
    return false;
  try {
    utf8.decode(body);
    return true;
  } catch {
    return false;
  }
}

/** HTTP APIs hand path parameters over decoded; an escape that decodes to nothing valid stays as it was sent. */
function decodePath(segment: string): string {
  return segment.replace(/(%[0-9A-Fa-f]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const part of req) {
    size += (part as Buffer).length;
    if (size > MAX_BODY) return undefined;
    parts.push(part as Buffer);
  }
  return Buffer.concat(parts);
}
