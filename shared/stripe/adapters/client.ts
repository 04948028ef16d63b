import Stripe from 'stripe';

/**
 * The Stripe API version Meterline is written against, pinned so a Stripe-side default change cannot
 * alter responses under us. It is the version stripe-node 23.1.0's types describe (billing meters and
 * meter events; legacy usage records are gone since 2025-03-31.basil). Upgrading stripe-node means
 * reading the changelog and moving this pin deliberately.
 */
export const STRIPE_API_VERSION = '2026-10-28.endive' as const satisfies Stripe.LatestApiVersion;

export interface StripeConnection {
  secretKey: string;
  /** Another Stripe-compatible endpoint (the local emulator): `http://127.0.0.1:4010`. Stripe's own when absent. */
  apiBase?: string;
  timeoutMs?: number;
}

/**
 * A stripe-node client. Its own retries are off (`maxNetworkRetries: 0`): it would retry 5xx and
 * connection errors but not 429, so one policy with jitter for all of them lives in `withStripeRetry`
 * instead of two nested ones.
 */
export function stripeClient(connection: StripeConnection): Stripe {
  const base = connection.apiBase ? new URL(connection.apiBase) : undefined;
  return new Stripe(connection.secretKey, {
    apiVersion: STRIPE_API_VERSION,
    maxNetworkRetries: 0,
    timeout: connection.timeoutMs ?? 20_000,
    telemetry: false,
    appInfo: { name: 'meterline' },
    ...(base
      ? {
          host: base.hostname,
          port: base.port || (base.protocol === 'https:' ? 443 : 80),
          protocol: base.protocol === 'https:' ? 'https' : 'http',
        }
      : {}),
  });
}
