import type { Period } from '../kernel/periods.js';
import type { Meter } from '../metering/meters.js';
import type { CreditGrant, LedgerEntry } from './credits.js';
import type { FleetSimulationJob, SimulationPage } from './fleet-simulation-job.js';
import type { FleetTenant } from './fleet-simulations.js';
import type { Invoice, InvoiceDraft, InvoiceStatus, ProviderInvoice } from './invoices.js';
import type { Party, Seller } from './parties.js';
import type { BillingPause } from './pauses.js';
import type { Plan } from './plans.js';
import type { Quota } from './quotas.js';
import type { Subscription } from './subscriptions.js';

/** What pricing reads: plans, the tenant's meters and each meter's billed quantity over a period. */
export interface BillingReads {
  /** The plan version a subscription names (plans.ts `planRef`). */
  plan(ref: string): Promise<Plan | undefined>;
  meters(tenantId: string): Promise<Meter[]>;
  /** The meter's billable quantity over `period`, counting readings up to `asOf` (shared/metering/period-usage.ts). */
  quantity(tenantId: string, meter: Meter, period: Period, asOf: number): Promise<string>;
}

export interface IssueOutcome {
  issued: Invoice[];
  /** Drafts whose period already had an invoice (another run, or an earlier one, closed it). */
  alreadyClosed: InvoiceDraft[];
}

/**
 * Plans, subscriptions, quotas and invoices. Handlers take the part they need (`Pick<BillingStore, ...>`);
 * the DynamoDB adapter (./adapters/billing-store.ts) implements all of it.
 */
export interface BillingStore {
  /** The version a plan reference (`planRef`) names. */
  getPlan(ref: string): Promise<Plan | undefined>;
  /** Each plan's first version. */
  listPlans(): Promise<Plan[]>;
  /** Writes a plan's first version whatever is there (seeding). */
  putPlan(plan: Plan): Promise<void>;
  /** Every version of the plan, first to latest. */
  planVersions(planId: string): Promise<Plan[]>;
  /** Writes a new version of a plan; false when that version exists already. */
  publishPlan(plan: Plan): Promise<boolean>;
  getSubscription(tenantId: string): Promise<Subscription | undefined>;
  /** Writes `sub` if the stored one still has `sub.version` (or none exists, for version 0); false otherwise. */
  putSubscription(sub: Subscription): Promise<boolean>;
  /** Every subscription, a page at a time (the invoice job works page by page). */
  subscriptionPages(): AsyncIterable<Subscription[]>;
  /** The tenant's invoice with the latest period (a consistent read: the invoice job and plan changes rely on it). */
  latestInvoice(tenantId: string): Promise<Invoice | undefined>;
  /** The invoice that closed the period starting at `periodStart` (ISO 8601), if any. */
  invoiceForPeriod(tenantId: string, periodStart: string): Promise<Invoice | undefined>;
  /** One of the tenant's invoices by id (its number); another tenant's invoice is not found. */
  getInvoice(tenantId: string, id: string): Promise<Invoice | undefined>;
  /** The tenant's invoices, newest period first; `cursor` continues a previous page. */
  listInvoices(tenantId: string, limit?: number, cursor?: string): Promise<{ invoices: Invoice[]; cursor?: string }>;
  /**
   * Numbers and writes the drafts as `open` invoices issued at `issuedAt`, closing their periods.
   * Drafts whose period is already closed are returned untouched, and use no number.
   */
  issueInvoices(drafts: readonly InvoiceDraft[], issuedAt: string): Promise<IssueOutcome>;
  setInvoiceStatus(tenantId: string, id: string, status: InvoiceStatus, at: string): Promise<Invoice | undefined>;
  /** Links the invoice to the provider's for the same period and keeps its hosted payment page; the invoice as stored. */
  linkProviderInvoice(invoice: Invoice, provider: ProviderInvoice): Promise<Invoice>;
  /** Records that `invoice.issued` went out for the invoice. */
  markAnnounced(invoice: Invoice, at: string): Promise<void>;
  /**
   * Voids `original` and issues `draft` in its place under the next number; undefined when the original
   * changed meanwhile (another reissue or a status move): nothing is written.
   */
  reissueInvoice(original: Invoice, draft: InvoiceDraft, at: string): Promise<Invoice | undefined>;
  /** The progressive invoices of the tenant's period starting at `periodStart` (ISO 8601), by threshold (./progressive.ts). */
  progressiveInvoices(tenantId: string, periodStart: string): Promise<Invoice[]>;
  /**
   * Numbers and writes a progressive `draft` as an `open` invoice, keyed by tenant × period × its threshold's
   * index, if its period still has exactly `earlier` progressive invoices and no final invoice; undefined
   * otherwise (another run issued one first, or the period closed): nothing is written and no number used.
   */
  issueProgressive(draft: InvoiceDraft, earlier: number, issuedAt: string): Promise<Invoice | undefined>;
  listQuotas(tenantId: string): Promise<Quota[]>;
  putQuota(tenantId: string, quota: Quota): Promise<void>;
  deleteQuota(tenantId: string, meter: string): Promise<boolean>;
  /** The tenant's credit grants and its whole credit ledger. */
  credits(tenantId: string): Promise<{ grants: CreditGrant[]; entries: LedgerEntry[] }>;
  /** A new grant with its first `grant` entry; false when a grant of that id exists. */
  putCreditGrant(grant: CreditGrant, entry: LedgerEntry): Promise<boolean>;
  /** Appends entries to the credit ledger; an entry whose id is there already is not written again. */
  appendCreditEntries(entries: readonly LedgerEntry[]): Promise<void>;
  /** Every billing pause in force (one small partition: the jobs read it once per run). */
  listPauses(): Promise<BillingPause[]>;
  /** False when that scope was already paused (the first pause and its reason stand). */
  pause(pause: BillingPause): Promise<boolean>;
  /** The pause lifted, or undefined when that scope was not paused. */
  resume(scope: string): Promise<BillingPause | undefined>;
  /** The seller's details printed on every invoice (one item; undefined until an operator sets them). */
  getSeller(): Promise<Seller | undefined>;
  putSeller(seller: Seller): Promise<void>;
  /** The customer's billing details for the tenant's invoices; undefined when none were given. */
  getCustomer(tenantId: string): Promise<Party | undefined>;
  putCustomer(tenantId: string, customer: Party): Promise<void>;
}

/** What reissuing an invoice reads and writes (./reissue.ts). */
export interface ReissueStore {
  getSubscription(tenantId: string): Promise<Subscription | undefined>;
  getInvoice(tenantId: string, id: string): Promise<Invoice | undefined>;
  latestInvoice(tenantId: string): Promise<Invoice | undefined>;
  invoiceForPeriod(tenantId: string, periodStart: string): Promise<Invoice | undefined>;
  reissueInvoice(original: Invoice, draft: InvoiceDraft, at: string): Promise<Invoice | undefined>;
  progressiveInvoices(tenantId: string, periodStart: string): Promise<Invoice[]>;
  credits(tenantId: string): Promise<{ grants: CreditGrant[]; entries: LedgerEntry[] }>;
  appendCreditEntries(entries: readonly LedgerEntry[]): Promise<void>;
}

/** What checking a tenant's thresholds reads and writes (./progressive.ts). */
export type ProgressiveStore = Pick<BillingStore, 'progressiveInvoices' | 'issueProgressive' | 'credits'>;

/** Fleet simulation jobs and their pages of outcomes (./fleet-simulation-job.ts). */
export interface FleetSimulationJobs {
  create(job: FleetSimulationJob): Promise<void>;
  get(jobId: string): Promise<FleetSimulationJob | undefined>;
  /** Claims the oldest job that is queued, or running under a lease that ended; the claim is `job.owner`'s. */
  claim(now: number, leaseMs: number): Promise<FleetSimulationJob | undefined>;
  /** Stores the job if the caller still owns it. */
  save(job: FleetSimulationJob): Promise<boolean>;
  /** Stores the page unless one of its number is there already; answers the page as stored. */
  putPage(jobId: string, page: SimulationPage): Promise<SimulationPage>;
  /** The job's pages in order, from `from` (a page number), at most `limit` of them. */
  pages(jobId: string, from?: number, limit?: number): AsyncIterable<SimulationPage>;
}

/** What a job reads of the fleet, in batches. */
export interface FleetReads {
  countSubscriptions(): Promise<number>;
  /** Up to `limit` subscriptions after tenant `after` in tenant order; `next` when more follow. */
  subscriptionPage(after: string | undefined, limit: number): Promise<{ subscriptions: Subscription[]; next?: string }>;
  /** The tenants' newest `periods` invoices, and pricing's reads with their counters for those periods read ahead. */
  load(subscriptions: readonly Subscription[], periods: number): Promise<{ tenants: FleetTenant[]; reads: BillingReads }>;
}
