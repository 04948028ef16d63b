import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkEndpointUrl, webhookSender } from '../../shared/alerts/adapters/webhook-sender.js';

/**
 * The webhook sender's guard where it matters, at connect time: a receiver on a loopback address, named by its IP or
 * by a host name that resolves to it (as a rebinding DNS answer would), is never reached unless the run is local.
 */
describe('the webhook sender', () => {
  let server: Server;
  let port: number;
  const received: { method?: string; url?: string; headers: IncomingMessage['headers']; body: string }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() });
        if (req.url === '/moved') res.writeHead(302, { location: '/elsewhere' }).end();
        else res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('refuses a loopback receiver, by IP or by a name that resolves to it, before connecting', async () => {
    const post = webhookSender(false);
    await expect(post(`http://127.0.0.1:${port}/hook`, '{}', {})).rejects.toThrow(
      'refused to connect: 127.0.0.1 is a private, loopback or link-local address',
    );
    await expect(post(`http://localhost:${port}/hook`, '{}', {})).rejects.toMatchObject({
      code: 'EADDRREFUSED',
      message: expect.stringContaining('refused to connect to localhost'),
    });
    expect(received).toEqual([]);
  });

  it('in a local run, posts the body with its headers and answers the receiver’s status', async () => {
    const post = webhookSender(true);
    const body = JSON.stringify({ type: 'usage.threshold_crossed', value: 'ä' });
    expect(await post(`http://localhost:${port}/hook`, body, { 'content-type': 'application/json', 'x-meterline-signature': 's' })).toBe(
      204,
    );
    expect(received.at(-1)).toMatchObject({
      method: 'POST',
      url: '/hook',
      body,
      headers: { 'content-type': 'application/json', 'x-meterline-signature': 's', 'content-length': String(Buffer.byteLength(body)) },
    });
  });

  it('a receiver whose host does not resolve, or that drops the connection, fails the delivery with the cause', async () => {
    // .invalid never resolves (RFC 6761): the resolver answers at once.
    await expect(webhookSender(false)('https://meterline-test.invalid/hook', '{}', {})).rejects.toMatchObject({ code: 'ENOTFOUND' });
    const dropping = createServer((req) => req.socket.destroy());
    await new Promise<void>((resolve) => dropping.listen(0, '127.0.0.1', resolve));
    const url = `http://localhost:${(dropping.address() as AddressInfo).port}/hook`;
    await expect(webhookSender(true)(url, '{}', {})).rejects.toThrow('socket hang up');
    await new Promise<void>((resolve) => dropping.close(() => resolve()));
  });

  it('answers a redirect as its status and does not follow it', async () => {
    const before = received.length;
    expect(await webhookSender(true)(`http://127.0.0.1:${port}/moved`, '{}', {})).toBe(302);
    expect(received.slice(before).map((r) => r.url)).toEqual(['/moved']);
  });
});

describe('an endpoint URL at registration', () => {
  it('must be https outside local runs, and may not resolve to a private address', async () => {
    expect(await checkEndpointUrl('http://hooks.example.com/meterline', false)).toBe('must be an https URL');
    expect(await checkEndpointUrl('https://127.0.0.1/hook', false)).toBe('127.0.0.1 is a private, loopback or link-local address');
    expect(await checkEndpointUrl('https://[::1]/hook', false)).toBe('::1 is a private, loopback or link-local address');
    expect(await checkEndpointUrl('http://localhost:3000/hook', true)).toBeUndefined();
    expect(await checkEndpointUrl('https://meterline-test.invalid/hook', false)).toBe('its host meterline-test.invalid does not resolve');
  });
});
