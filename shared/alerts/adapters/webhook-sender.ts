import { lookup } from 'node:dns';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { refusedAddress } from '../webhooks.js';

/** How long a receiver has to answer a delivery. */
export const DELIVERY_TIMEOUT_MS = 10_000;

/**
 * POSTs webhook deliveries. The connection goes only to an address this process resolved and checked
 * (a lookup hook on the socket), so a host name that resolves to a private or link-local address, even
 * one that changed between registration and delivery (DNS rebinding), is never reached. Redirects are
 * not followed. `allowLoopback` is for local runs, whose receivers listen on 127.0.0.1.
 */
export function webhookSender(allowLoopback: boolean) {
  const guardedLookup: LookupFunction = (hostname, options, callback) => {
    lookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '', 0);
      const list = addresses as { address: string; family: number }[];
      const refused = list.map((a) => refusedAddress(a.address, allowLoopback)).find((r) => r !== undefined);
      if (refused)
        return callback(Object.assign(new Error(`refused to connect to ${hostname}: ${refused}`), { code: 'EADDRREFUSED' }), '', 0);
      if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: typeof list) => void)(null, list);
      callback(null, list[0]!.address, list[0]!.family);
    });
  };

  return function post(url: string, body: string, headers: Record<string, string>): Promise<number> {
    const target = new URL(url);
    // node:http (undici and http2 with it on Node 22, ~30 ms) loads only when a receiver is on plain HTTP.
    const request = target.protocol === 'https:' ? httpsRequest : process.getBuiltinModule('node:http').request;
    // Sockets skip the lookup hook for a literal IP, so that one is checked here.
    const literal = target.hostname.replace(/^\[|\]$/g, '');
    const refused = isIP(literal) ? refusedAddress(literal, allowLoopback) : undefined;
    if (refused) return Promise.reject(new Error(`refused to connect: ${refused}`));
    return new Promise((resolve, reject) => {
      const req = request(
        target,
        {
          method: 'POST',
          headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
          lookup: guardedLookup,
          timeout: DELIVERY_TIMEOUT_MS,
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${DELIVERY_TIMEOUT_MS / 1000} s`)));
      req.on('error', reject);
      req.end(body);
    });
  };
}

/** Resolves a URL's host and refuses it when any of its addresses may not be called (registration-time check). */
export async function checkEndpointUrl(url: string, allowLoopback: boolean): Promise<string | undefined> {
  const target = new URL(url);
  if (!allowLoopback && target.protocol !== 'https:') return 'must be an https URL';
  const host = target.hostname.replace(/^\[|\]$/g, '');
  let addresses: { address: string }[];
  try {
    addresses = await new Promise((resolve, reject) => lookup(host, { all: true }, (e, a) => (e ? reject(e) : resolve(a))));
  } catch {
    return `its host ${host} does not resolve`;
  }
  return addresses.map((a) => refusedAddress(a.address, allowLoopback)).find((r) => r !== undefined);
}
