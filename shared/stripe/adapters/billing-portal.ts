import type Stripe from 'stripe';
import { withStripeRetry } from './retry.js';

/**
 * Stripe's customer portal, where a tenant changes its plan and payment methods. A portal session is
 * short-lived and single-use, so one is created each time the tenant asks (Stripe's guidance).
 */
export class StripeBillingPortal {
  constructor(private readonly client: () => Promise<Stripe>) {}

  async createSession(customerId: string, returnUrl: string): Promise<{ url: string }> {
    const stripe = await this.client();
    // No idempotency key: every call is meant to open a new session; a retried create only leaves an unused one.
    const session = await withStripeRetry(() => stripe.billingPortal.sessions.create({ customer: customerId, return_url: returnUrl }));
    return { url: session.url };
  }
}
