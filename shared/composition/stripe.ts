import type { Invoice, ProviderInvoice } from '../billing/invoices.js';
import { tableName } from '../platform/dynamo/tables.js';
import { StripeBillingPortal } from '../stripe/adapters/billing-portal.js';
import { stripeFromEnvironment, stripePace } from '../stripe/adapters/environment.js';
import { StripeInvoiceItems } from '../stripe/adapters/invoice-items.js';
import { DynamoStripeStore } from '../stripe/adapters/stripe-store.js';
import { StripeUsageReporter } from '../stripe/adapters/usage-reporter.js';
import { StripeWebhookAdapter } from '../stripe/adapters/webhooks.js';
import { sendInvoiceItems, sendProgressiveInvoice } from '../stripe/invoice-sync.js';
import { workerPace } from '../stripe/report-slices.js';
import type { UsageReportDependencies } from '../stripe/usage-report.js';
import { eventPublisher } from './alerts.js';
import { billingStore } from './billing.js';
import { dynamo } from './clients.js';
import { counterReader, meterReader } from './metering.js';
import { tenantDirectory } from './tenancy.js';

/** The Stripe half of the composition root, apart so that functions that never call Stripe do not bundle it. */
export const stripeStore = () => new DynamoStripeStore(dynamo(), tableName('stripe'));

/** Stripe's client and secrets load on first use (Secrets Manager in AWS, the environment locally). */
let stripeAccess: ReturnType<typeof stripeFromEnvironment> | undefined;
const stripe = () => (stripeAccess ??= stripeFromEnvironment());

/** The report workers' Stripe client: several run at once, each in its own container, so each paces at its share. */
export const usageReporter = () => new StripeUsageReporter(async () => (await stripe()()).stripe, workerPace(stripePace()));

/** What a report worker reports a slice with. */
export function usageReportDependencies(): Omit<UsageReportDependencies, 'log'> {
  const billing = billingStore();
  const reader = meterReader();
  const publisher = eventPublisher();
  return {
    tenants: tenantDirectory(),
    usage: counterReader(),
    billing: {
      subscription: (tenantId) => billing.getSubscription(tenantId),
      plan: (planId) => billing.getPlan(planId),
      quantity: (tenantId, meter, period, asOf) => reader.quantity(tenantId, meter, period, asOf),
      pauses: () => billing.listPauses(),
    },
    store: stripeStore(),
    reporter: usageReporter(),
    publish: (event) => publisher.publish(event),
  };
}

export const stripeWebhooks = () => new StripeWebhookAdapter(stripe());

const invoiceItems = () => new StripeInvoiceItems(async () => (await stripe()()).stripe);

/** The invoice job's step that puts an issued invoice's credit, true-up and "Already invoiced" lines on Stripe's draft for the period. */
export function invoiceItemSync() {
  const store = stripeStore();
  const writer = invoiceItems();
  return (invoice: Invoice) =>
    sendInvoiceItems({ writer, customerOf: (t) => store.customerOf(t), raiseIssue: (i) => store.raiseIssue(i), now: Date.now }, invoice);
}

/** The alert evaluator's step that makes a progressive invoice a Stripe invoice, recorded beside it in `billing`. */
export function progressiveInvoiceSync(billing: { linkProviderInvoice(invoice: Invoice, provider: ProviderInvoice): Promise<unknown> }) {
  const store = stripeStore();
  const writer = invoiceItems();
  return (invoice: Invoice) =>
    sendProgressiveInvoice(
      {
        writer,
        customerOf: (t) => store.customerOf(t),
        link: async (i, id) => void (await billing.linkProviderInvoice(i, { id, status: 'open', hostedInvoiceUrl: null })),
      },
      invoice,
    );
}

export const billingPortal = () => new StripeBillingPortal(async () => (await stripe()()).stripe);
