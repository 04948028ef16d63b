import { createServer, request } from 'node:http';
import { freePort } from '../local/net.js';

/** What one AWS JSON-protocol action cost through the proxy. */
export interface ActionMeter {
  calls: number;
  /** Request plus response bodies, for the per-64 KB (SQS) and per-512 KB (HTTP API) billing chunks. */
  chunks64k: number;
  /** DynamoDB read units by AWS's rules: per item up to 4 KB, halved for eventually consistent reads. */
  readUnits: number;
}

/**
 * A pass-through HTTP proxy in front of a local AWS emulator that meters each call by its X-Amz-Target,
 * so the benchmark bills what the handlers really sent without touching them or their clients. Answers
 * that name the emulator's address (SQS queue URLs, which the SDK calls directly) name the proxy instead.
 */
export async function meteredProxy(
  target: string,
): Promise<{ endpoint: string; meters: Map<string, ActionMeter>; byTable: Map<string, ActionMeter>; stop(): Promise<void> }> {
  const upstream = new URL(target);
  const meters = new Map<string, ActionMeter>();
  /** The same per DynamoDB table and action (`<table> <action>`), for what one table's users cost. */
  const byTable = new Map<string, ActionMeter>();
  const port = await freePort();
  const advertised = `127.0.0.1:${port}`;
  const server = createServer((req, res) => {
    const body: Buffer[] = [];
    req.on('data', (c: Buffer) => body.push(c));
    req.on('end', () => {
      const sent = Buffer.concat(body);
      const forward = request(
        { hostname: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers },
        (answer) => {
          const back: Buffer[] = [];
          answer.on('data', (c: Buffer) => back.push(c));
          answer.on('end', () => {
            const received = Buffer.from(Buffer.concat(back).toString('latin1').replaceAll(upstream.host, advertised), 'latin1');
            const action = String(req.headers['x-amz-target'] ?? 'other').replace(/^.*\./, '');
            const table = tableOf(sent);
            for (const [map, key] of [[meters, action], ...(table ? [[byTable, `${table} ${action}`] as const] : [])] as const) {
              const m = map.get(key) ?? { calls: 0, chunks64k: 0, readUnits: 0 };
              m.calls += 1;
              // SQS bills each 64 KB chunk of a request's payload, sent or received, as one request.
              m.chunks64k += Math.max(1, Math.ceil(Math.max(sent.length, received.length) / 65_536));
              m.readUnits += readUnits(action, sent, received);
              map.set(key, m);
            }
            const { 'transfer-encoding': _chunked, ...headers } = answer.headers;
            res.writeHead(answer.statusCode ?? 502, { ...headers, 'content-length': String(received.length) });
            res.end(received);
          });
        },
      );
      forward.on('error', () => res.writeHead(502).end());
      forward.end(sent);
    });
  });
  await new Promise<void>((ok) => server.listen(port, '127.0.0.1', ok));
  return {
    endpoint: `http://${advertised}`,
    meters,
    byTable,
    stop: () => new Promise<void>((ok) => (server.closeAllConnections(), server.close(() => ok()))),
  };
}

function readUnits(action: string, sent: Buffer, received: Buffer): number {
  if (action !== 'GetItem' && action !== 'BatchGetItem' && action !== 'Query') return 0;
  const input = JSON.parse(sent.toString() || '{}') as {
    ConsistentRead?: boolean;
    RequestItems?: Record<string, { Keys?: unknown[]; ConsistentRead?: boolean }>;
  };
  if (action === 'BatchGetItem') {
    return Object.values(input.RequestItems ?? {}).reduce((n, t) => n + (t.Keys?.length ?? 0) * (t.ConsistentRead ? 1 : 0.5), 0);
  }
  // A GetItem or Query is billed on the bytes it returns, in 4 KB units (at least one).
  return Math.max(1, Math.ceil(received.length / 4096)) * (input.ConsistentRead ? 1 : 0.5);
}

/** The table a single-table DynamoDB call names (batch and transaction calls name theirs inside). */
function tableOf(sent: Buffer): string | undefined {
  try {
    const name = (JSON.parse(sent.toString() || '{}') as { TableName?: unknown }).TableName;
    return typeof name === 'string' ? name : undefined;
  } catch {
    return undefined;
  }
}
