import Stripe from 'stripe';
import { type MeterEventDraft, MeterEventRejected, type MeterReporting } from '../meter-reporting.js';
import type { UsageReporter } from '../ports.js';
import type { StripePriceSpec, StripeSubscriptionSpec, SubscriptionLink } from '../products.js';
import { StripeProductSync } from './product-sync.js';
import { defaultRetryPolicy, type RetryPolicy, rateLimiter, withStripeRetry } from './retry.js';
import { ensureOnce } from './run-cache.js';

export interface StripeUsageReporterOptions {
  /** Client-side pace of meter events (Stripe allows 1,000/s in live mode). */
  meterEventsPerSecond: number;
  /** Client-side pace of every other call (Stripe allows 100/s in live mode, 25/s in test mode). */
  requestsPerSecond: number;
  retry?: RetryPolicy;
}

/**
 * The report job's view of Stripe: customers, billing meters, v1 meter events, and the plan's
 * products, prices and the tenant's subscription (./product-sync.ts). Every call is
 * paced, retried with jitter on 429/5xx/timeouts, and idempotent: customers and meters by an
 * Idempotency-Key derived from what they stand for, meter events by their deterministic identifier
 * (also sent as the Idempotency-Key, so a retry after a lost response replays Stripe's first answer).
 */
export class StripeUsageReporter implements UsageReporter {
  private readonly meterEvents;
  private readonly requests;
  private readonly retry: RetryPolicy;
  private meters: Promise<Map<string, Stripe.Billing.Meter>> | undefined;
  private readonly ensured = new Map<string, Promise<string>>();
  private readonly products: StripeProductSync;

  constructor(
    private readonly client: () => Promise<Stripe>,
    options: StripeUsageReporterOptions,
  ) {
    this.meterEvents = rateLimiter(options.meterEventsPerSecond);
    this.requests = rateLimiter(options.requestsPerSecond);
    this.retry = options.retry ?? defaultRetryPolicy;
    // The same pace as every other call: prices and subscriptions count against the same rate limit.
    this.products = new StripeProductSync(client, (request) => this.call(request));
  }

  async createCustomer(tenant: { id: string; name: string }): Promise<string> {
    const stripe = await this.client();
    const customer = await this.call(() =>
      stripe.customers.create(
        { name: tenant.name, metadata: { tenant_id: tenant.id } },
        { idempotencyKey: `meterline-customer-${tenant.id}` },
      ),
    );
    return customer.id;
  }

  ensureMeter(reporting: MeterReporting): Promise<string> {
    return ensureOnce(this.ensured, reporting.eventName, () => this.createMeterUnlessListed(reporting));
  }

  ensurePrices(
    plan: { id: string; name: string },
    specs: readonly StripePriceSpec[],
    meterIds: ReadonlyMap<string, string>,
  ): Promise<Map<string, string>> {
    return this.products.ensurePrices(plan, specs, meterIds);
  }

  ensureSubscription(
    customerId: string,
    spec: StripeSubscriptionSpec,
    priceIds: ReadonlyMap<string, string>,
    link: SubscriptionLink | undefined,
  ): Promise<SubscriptionLink | undefined> {
    return this.products.ensureSubscription(customerId, spec, priceIds, link);
  }

  async sendMeterEvent(customerId: string, event: MeterEventDraft): Promise<'sent' | 'duplicate'> {
    const stripe = await this.client();
    try {
      await withStripeRetry(async () => {
        await this.meterEvents.acquire();
        return stripe.billing.meterEvents.create(
          {
            event_name: event.eventName,
            identifier: event.identifier,
            timestamp: event.timestamp,
            payload: { stripe_customer_id: customerId, value: event.value },
          },
          { idempotencyKey: event.identifier },
        );
      }, this.retry);
      return 'sent';
    } catch (error) {
      if (error instanceof Stripe.errors.StripeInvalidRequestError) {
        // Stripe refuses an identifier it has seen (for at least 24 hours): that event is already reported.
        if (/already exists with identifier/i.test(error.message)) return 'duplicate';
        throw new MeterEventRejected(error.code ?? 'invalid_request_error', error.message);
      }
      throw error;
    }
  }

  /** Meters are account-wide: listed once per run, created when missing. */
  private async createMeterUnlessListed(reporting: MeterReporting): Promise<string> {
    if (!this.meters) {
      this.meters = this.listMeters();
      this.meters.catch(() => (this.meters = undefined));
    }
    const listed = (await this.meters).get(reporting.eventName);
    if (listed) return listed.id;
    const stripe = await this.client();
    const created = await this.call(() =>
      stripe.billing.meters.create(
        {
          display_name: reporting.displayName,
          event_name: reporting.eventName,
          default_aggregation: { formula: reporting.formula },
          customer_mapping: { type: 'by_id', event_payload_key: 'stripe_customer_id' },
          value_settings: { event_payload_key: 'value' },
        },
        { idempotencyKey: `meterline-meter-${reporting.eventName}` },
      ),
    );
    return created.id;
  }

  private async listMeters(): Promise<Map<string, Stripe.Billing.Meter>> {
    const stripe = await this.client();
    const meters = new Map<string, Stripe.Billing.Meter>();
    let startingAfter: string | undefined;
    for (;;) {
      const page = await this.call(() =>
        stripe.billing.meters.list({ status: 'active', limit: 100, ...(startingAfter ? { starting_after: startingAfter } : {}) }),
      );
      for (const m of page.data) meters.set(m.event_name, m);
      if (!page.has_more || page.data.length === 0) return meters;
      startingAfter = page.data.at(-1)!.id;
    }
  }

  private call<T>(request: () => Promise<T>): Promise<T> {
    return withStripeRetry(async () => {
      await this.requests.acquire();
      return request();
    }, this.retry);
  }
}
