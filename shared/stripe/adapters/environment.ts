import type Stripe from 'stripe';
import { stripeClient } from './client.js';
import { loadStripeSecrets, type StripeSecrets } from './secrets.js';

export interface StripeAccess {
  stripe: Stripe;
  secrets: StripeSecrets;
}

/**
 * This function's Stripe client and secrets, from its environment: loaded on first use (not at import,
 * so a cold start does not fail on a Secrets Manager hiccup) and once per container; a failed load is
 * retried by the next call. STRIPE_API_BASE points the client at another endpoint (the local emulator).
 */
export function stripeFromEnvironment(env: NodeJS.ProcessEnv = process.env): () => Promise<StripeAccess> {
  let loading: Promise<StripeAccess> | undefined;
  return () =>
    (loading ??= loadStripeSecrets(env)
      .then((secrets) => ({
        secrets,
        stripe: stripeClient({
          secretKey: secrets.secretKey,
          apiBase: env.STRIPE_API_BASE,
          timeoutMs: Number(env.STRIPE_TIMEOUT_MS ?? 20_000),
        }),
      }))
      .catch((error: unknown) => {
        loading = undefined;
        throw error;
      }));
}

/** Client-side pace (requests per second), below Stripe's live-mode limits unless configured. */
export function stripePace(env: NodeJS.ProcessEnv = process.env): { meterEventsPerSecond: number; requestsPerSecond: number } {
  const positive = (text: string | undefined, fallback: number) => (Number(text) > 0 ? Number(text) : fallback);
  return {
    meterEventsPerSecond: positive(env.STRIPE_METER_EVENTS_PER_SECOND, 900),
    requestsPerSecond: positive(env.STRIPE_REQUESTS_PER_SECOND, 90),
  };
}
