import Stripe from 'stripe';
import { backoffDelay, sleep } from '../../kernel/retry.js';

export interface RetryPolicy {
  maxAttempts: number;
  baseMs: number;
  capMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { maxAttempts: 8, baseMs: 250, capMs: 20_000 };

/**
 * 429s (rate limits and lock timeouts), 5xx and connection failures or timeouts are worth another
 * attempt; any other 4xx is an answer. Callers make every retried call idempotent (an
 * Idempotency-Key or a meter event identifier), so a request that did reach Stripe is not applied twice.
 */
export function isRetryable(error: unknown): boolean {
  if (error instanceof Stripe.errors.StripeConnectionError || error instanceof Stripe.errors.StripeRateLimitError) return true;
  // 409: a concurrent request with the same idempotency key is still running.
  return error instanceof Stripe.errors.StripeError && ((error.statusCode ?? 0) >= 500 || error.statusCode === 409);
}

/** Runs `call` until it succeeds, fails for good, or runs out of attempts; waits with full jitter in between. */
export async function withStripeRetry<T>(call: () => Promise<T>, policy: RetryPolicy = defaultRetryPolicy): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (attempt >= policy.maxAttempts || !isRetryable(error)) throw error;
      await sleep(backoffDelay(attempt, policy.baseMs, policy.capMs));
    }
  }
}

/**
 * A token bucket that keeps this process under Stripe's rate limit instead of learning it from 429s.
 * `acquire` resolves when a request may go.
 */
export function rateLimiter(perSecond: number, now: () => number = Date.now) {
  let tokens = perSecond;
  let at = now();
  let queue = Promise.resolve();
  return {
    acquire(): Promise<void> {
      const turn = queue.then(async () => {
        for (;;) {
          const t = now();
          tokens = Math.min(perSecond, tokens + ((t - at) / 1000) * perSecond);
          at = t;
          if (tokens >= 1) {
            tokens -= 1;
            return;
          }
          await sleep(Math.ceil(((1 - tokens) / perSecond) * 1000));
        }
      });
      queue = turn;
      return turn;
    },
  };
}
