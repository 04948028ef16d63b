import { dynamo } from '../dependencies.js';
import { DynamoStripeStore } from '../dynamo/stripe-store.js';
import { tableName } from '../dynamo/tables.js';
import { stripeFromEnvironment, stripePace } from './environment.js';
import { StripeUsageReporter } from './usage-reporter.js';
import { StripeWebhookAdapter } from './webhooks.js';

/** The Stripe half of the composition root, apart so that functions that never call Stripe do not bundle it. */
export const stripeStore = () => new DynamoStripeStore(dynamo(), tableName('stripe'));

/** Stripe's client and secrets load on first use (Secrets Manager in AWS, the environment locally). */
let stripeAccess: ReturnType<typeof stripeFromEnvironment> | undefined;
const stripe = () => (stripeAccess ??= stripeFromEnvironment());

export const usageReporter = () => new StripeUsageReporter(async () => (await stripe()()).stripe, stripePace());

export const stripeWebhooks = () => new StripeWebhookAdapter(stripe());
