import { tableName } from '../platform/dynamo/tables.js';
import { StripeBillingPortal } from '../stripe/adapters/billing-portal.js';
import { stripeFromEnvironment, stripePace } from '../stripe/adapters/environment.js';
import { DynamoStripeStore } from '../stripe/adapters/stripe-store.js';
import { StripeUsageReporter } from '../stripe/adapters/usage-reporter.js';
import { StripeWebhookAdapter } from '../stripe/adapters/webhooks.js';
import { dynamo } from './root.js';

/** The Stripe half of the composition root, apart so that functions that never call Stripe do not bundle it. */
export const stripeStore = () => new DynamoStripeStore(dynamo(), tableName('stripe'));

/** Stripe's client and secrets load on first use (Secrets Manager in AWS, the environment locally). */
let stripeAccess: ReturnType<typeof stripeFromEnvironment> | undefined;
const stripe = () => (stripeAccess ??= stripeFromEnvironment());

export const usageReporter = () => new StripeUsageReporter(async () => (await stripe()()).stripe, stripePace());

export const stripeWebhooks = () => new StripeWebhookAdapter(stripe());

export const billingPortal = () => new StripeBillingPortal(async () => (await stripe()()).stripe);
