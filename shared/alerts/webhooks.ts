import { createHmac, randomBytes } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import * as z from 'zod';
import { domainEventTypes } from '../events/domain-events.js';
import { numberField } from '../kernel/json-fields.js';

/**
 * Tenant webhook endpoints and signed deliveries.
 *
 * Signature: `Meterline-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>]`, where each v1 is
 * HMAC-SHA256(secret, `${t}.${raw body}`) in hex. During a secret rotation's overlap a delivery carries
 * one v1 per live secret (newest first), so a receiver holding either secret verifies it. Receivers
 * refuse a timestamp more than 5 minutes from their clock (a replay).
 *
 * Retries: exponential backoff from `baseSeconds` (30 s in AWS), doubling to at most 4 hours, until an
 * attempt fails at least 24 hours after the first: about 15 attempts over a day.
 */
export const SIGNATURE_HEADER = 'meterline-signature';
export const SIGNATURE_TOLERANCE_SECONDS = 300;
export const RETRY_WINDOW_SECONDS = 24 * 3600;
export const MAX_RETRY_DELAY_SECONDS = 4 * 3600;
/** SQS's per-message DelaySeconds maximum: a longer wait is several hops of at most this. */
export const MAX_QUEUE_DELAY_SECONDS = 900;

export const endpointIdSchema = z.string().regex(/^we_[a-f0-9]{24}$/, 'must be a webhook endpoint id (we_...)');

export const endpointDefinitionSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL' }).max(2048),
  eventTypes: z.array(z.enum(domainEventTypes)).min(1).max(domainEventTypes.length),
  /** Only the events about these meters (of the types that name one, `usage.recorded` among them); absent: every meter. */
  meters: z.array(z.string().min(1).max(64)).min(1).max(100).optional(),
  description: z.string().max(200).optional(),
});
export type EndpointDefinition = z.infer<typeof endpointDefinitionSchema>;

export const rotationSchema = z.strictObject({
  /** How long the old secret keeps signing beside the new one (0 ends it now). Default 24 hours. */
  overlapHours: numberField(z.number().int().min(0).max(168)).default(24),
});

export interface WebhookEndpoint extends EndpointDefinition {
  id: string;
  tenantId: string;
  /** The signing secret: shown at creation and rotation only. */
  secret: string;
  /** Secrets still signing beside `secret` until they expire (a rotation's overlap). */
  previousSecrets: { secret: string; expiresAt: string }[];
  createdAt: string;
}

export const newEndpointId = () => `we_${randomBytes(12).toString('hex')}`;
export const newSecret = () => `mlwhsec_${randomBytes(32).toString('base64url')}`;

/** The endpoint as the API shows it: without its secrets. */
export function endpointView(e: WebhookEndpoint) {
  const { tenantId: _t, secret: _s, previousSecrets, ...rest } = e;
  return { ...rest, secretRotation: previousSecrets.length ? { previousSecretExpiresAt: previousSecrets.map((p) => p.expiresAt) } : null };
}

export function rotate(e: WebhookEndpoint, overlapHours: number, now: number): WebhookEndpoint {
  const live = liveSecrets(e, now);
  const expiresAt = new Date(now + overlapHours * 3_600_000).toISOString();
  const previousSecrets =
    overlapHours === 0 ? [] : [{ secret: e.secret, expiresAt }, ...e.previousSecrets.filter((p) => live.includes(p.secret))];
  return { ...e, secret: newSecret(), previousSecrets };
}

/** The secrets that sign at `now`: the current one first, then those whose overlap has not ended. */
export function liveSecrets(e: WebhookEndpoint, now: number): string[] {
  return [e.secret, ...e.previousSecrets.filter((p) => Date.parse(p.expiresAt) > now).map((p) => p.secret)];
}

export function signatureHeader(secrets: readonly string[], rawBody: string, timestampSeconds: number): string {
  const signed = `${timestampSeconds}.${rawBody}`;
  return [`t=${timestampSeconds}`, ...secrets.map((s) => `v1=${createHmac('sha256', s).update(signed).digest('hex')}`)].join(',');
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface DeliveryAttempt {
  at: string;
  /** The receiver's HTTP status, absent when no answer came (refused, timed out, blocked address). */
  statusCode?: number;
  error?: string;
  durationMs: number;
}

/** One domain event to one endpoint, with every attempt. Its id is derived from both, so it exists once. */
export interface Delivery {
  id: string;
  tenantId: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  /** The exact body sent (and signed). */
  payload: string;
  status: DeliveryStatus;
  attempts: DeliveryAttempt[];
  createdAt: string;
  nextAttemptAt?: string;
  deliveredAt?: string;
}

/** What the delivery queue carries: which delivery, when it is due, and when its current series of attempts began. */
export const deliveryMessageSchema = z.strictObject({
  tenantId: z.string(),
  deliveryId: z.string(),
  dueAt: z.iso.datetime(),
  seriesStart: z.iso.datetime(),
});
export type DeliveryMessage = z.infer<typeof deliveryMessageSchema>;

/**
 * Seconds to wait after failed attempt number `attempt` (1-based) of a series that began at
 * `seriesStart`, or undefined when the series is over (this attempt came 24 hours or more after the first).
 * `jitter` in [0, 1) adds up to 10%, so endpoints that failed together do not all retry together.
 */
export function retryDelaySeconds(attempt: number, seriesStart: number, now: number, baseSeconds: number, jitter = 0): number | undefined {
  if (now - seriesStart >= RETRY_WINDOW_SECONDS * 1000) return undefined;
  const delay = Math.min(baseSeconds * 2 ** (attempt - 1), MAX_RETRY_DELAY_SECONDS);
  return Math.ceil(delay * (1 + jitter / 10));
}

/** How long the next hop on the queue waits: SQS delays a message by at most 15 minutes. */
export const queueDelaySeconds = (dueAt: number, now: number): number =>
  Math.max(0, Math.min(MAX_QUEUE_DELAY_SECONDS, Math.ceil((dueAt - now) / 1000)));

/**
 * Addresses a webhook must never reach from inside AWS (SSRF): loopback, private networks, link-local
 * (the instance metadata service at 169.254.169.254), carrier-grade NAT, multicast, reserved and
 * unspecified ranges, and IPv6's equivalents (IPv4-mapped addresses are checked as IPv4).
 */
const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  blocked.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
  ['2001:db8::', 32],
] as const) {
  blocked.addSubnet(net, prefix, 'ipv6');
}

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/**
 * Why `address` may not be called, or undefined when it may. `allowLoopback` is for local runs only:
 * the local stack's receivers listen on 127.0.0.1; every other private range stays refused.
 */
export function refusedAddress(address: string, allowLoopback: boolean): string | undefined {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  const ip = mapped ?? address;
  const family = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
  if (isIP(ip) === 0) return `${address} is not an IP address`;
  if (allowLoopback && loopback.check(ip, family)) return undefined;
  return blocked.check(ip, family) ? `${address} is a private, loopback or link-local address` : undefined;
}
