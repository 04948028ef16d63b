import type { PlacedItem, ProviderInvoiceItem } from './invoice-items.js';
import type { MeterEventDraft, MeterReporting, PendingEvent, ReportRecord, TenantReport } from './meter-reporting.js';
import type {
  BillingIssue,
  InvoiceLineState,
  InvoiceState,
  MeterErrorReport,
  MeterlineInvoice,
  Mirrored,
  ProviderNotification,
  SubscriptionState,
} from './mirror.js';
import type { StripePriceSpec, StripeSubscriptionSpec, SubscriptionLink } from './products.js';
import type { ReportSlice } from './report-slices.js';
import type { SliceResult } from './usage-report.js';

/**
 * What the Stripe context needs from Stripe and from its table. The stripe-node and DynamoDB adapters
 * in ./adapters/ implement these; the workflows (./usage-report.ts, ./notifications.ts) use only these.
 */

/** The provider, as the report job needs it. */
export interface UsageReporter {
  /** The tenant's customer, created (idempotently) when it has none. */
  createCustomer(tenant: { id: string; name: string }): Promise<string>;
  /** Makes sure the provider meter exists (idempotent; cached for the run); its id. */
  ensureMeter(reporting: MeterReporting): Promise<string>;
  /** Makes sure the plan's prices exist (idempotent; cached for the run); price ids by lookup key. `meterIds`: meter ids by event name. */
  ensurePrices(
    plan: { id: string; name: string },
    specs: readonly StripePriceSpec[],
    meterIds: ReadonlyMap<string, string>,
  ): Promise<Map<string, string>>;
  /** Brings the tenant's provider subscription in line with `spec`; the new link when it changed anything. */
  ensureSubscription(
    customerId: string,
    spec: StripeSubscriptionSpec,
    priceIds: ReadonlyMap<string, string>,
    link: SubscriptionLink | undefined,
  ): Promise<SubscriptionLink | undefined>;
  /** 'duplicate' when the provider already has an event with this identifier: it counts as reported. */
  sendMeterEvent(customerId: string, event: MeterEventDraft): Promise<'sent' | 'duplicate'>;
}

/** Where report state lives: customer mapping, subscription link, per-day records (with the pending outbox), run records. */
export interface ReportStore {
  customerOf(tenantId: string): Promise<string | undefined>;
  saveCustomer(tenantId: string, customerId: string): Promise<void>;
  /** Records from `fromDay` on, by meter key then day. */
  reportRecords(tenantId: string, fromDay: string): Promise<Map<string, Map<string, ReportRecord>>>;
  /** Writes the event down before it is sent; false when another run changed the record meanwhile. */
  putPending(tenantId: string, meter: string, day: string, event: PendingEvent, previousSequence: number | undefined): Promise<boolean>;
  /** The provider has the pending event: it becomes the record. */
  commitPending(tenantId: string, meter: string, day: string, event: PendingEvent): Promise<void>;
  flag(tenantId: string, meter: string, day: string, target: string): Promise<void>;
  subscriptionLink(tenantId: string): Promise<SubscriptionLink | undefined>;
  /** Writes the link if the stored one still has the version before it; false when another run moved it. */
  saveSubscriptionLink(tenantId: string, link: SubscriptionLink): Promise<boolean>;
  recordRun(report: TenantReport): Promise<void>;
  /** What a report worker did with one slice, under its run (a redelivered slice writes its own outcome over it). */
  recordSlice(result: SliceResult): Promise<void>;
}

/** The report queue: one message per slice of tenants. */
export interface ReportQueue {
  send(slice: ReportSlice): Promise<void>;
}

/** The provider, as the webhook needs it: verification, and objects fetched when an event does not carry them whole. */
export interface NotificationSource {
  /** Verifies the signature over the raw body; throws SignatureRejected when it does not hold. */
  verify(rawBody: Buffer, signature: string | undefined): Promise<ProviderNotification>;
  subscription(id: string): Promise<SubscriptionState>;
  invoiceLines(invoiceId: string): Promise<InvoiceLineState[]>;
  eventNameOfPrice(priceId: string): Promise<string | null>;
  meterErrorReport(eventId: string): Promise<MeterErrorReport>;
  /**
   * Keeps a draft invoice from finalizing before `until` (seconds): Stripe's `automatically_finalizes_at`. False when
   * Stripe refuses because the invoice is no longer a draft.
   */
  holdDraft(invoiceId: string, until: number): Promise<boolean>;
}

/** Where the webhook keeps what it mirrored: handled event ids, subscriptions, invoices and billing issues. */
export interface MirrorStore {
  seenEvent(eventId: string): Promise<boolean>;
  markEventHandled(eventId: string, type: string): Promise<void>;
  tenantOfCustomer(customerId: string): Promise<string | undefined>;
  subscription(tenantId: string, id: string): Promise<Mirrored<SubscriptionState> | undefined>;
  putSubscription(tenantId: string, mirrored: Mirrored<SubscriptionState>): Promise<boolean>;
  invoice(tenantId: string, id: string): Promise<Mirrored<InvoiceState> | undefined>;
  putInvoice(tenantId: string, mirrored: Mirrored<InvoiceState>): Promise<boolean>;
  raiseIssue(issue: BillingIssue): Promise<void>;
}

/** Meterline's own invoice for a period, as reconciliation reads it from billing. */
export interface MeterlineInvoiceLookup {
  invoiceForPeriod(tenantId: string, periodStart: number): Promise<MeterlineInvoice | undefined>;
  /**
   * Meterline's invoice for the period starting at `periodStart` (ms) follows Stripe's: linked, hosted URL
   * kept, status moved (paid, void, uncollectible). No-op while Meterline has not issued it yet: the invoice
   * job applies the mirrored Stripe invoice when it does.
   */
  followProviderInvoice(
    tenantId: string,
    periodStart: number,
    provider: { id: string; status: string; hostedInvoiceUrl: string | null },
  ): Promise<void>;
}

/** The provider's invoices as Meterline's invoice items reach them, and its own progressive invoices (./invoice-sync.ts). */
export interface InvoiceItemWriter {
  /**
   * The customer's provider invoice for the billing period starting at `periodStart` (seconds), with its
   * status and the Meterline items on it; undefined when the provider has none.
   */
  periodInvoice(customerId: string, periodStart: number): Promise<{ id: string; status: string; items: PlacedItem[] } | undefined>;
  /** Adds the item to the draft invoice, under its Idempotency-Key. `period` in seconds. */
  createInvoiceItem(
    customerId: string,
    invoiceId: string,
    item: ProviderInvoiceItem,
    period: { start: number; end: number },
  ): Promise<void>;
  deleteInvoiceItem(itemId: string): Promise<void>;
  /**
   * The customer's one-off provider invoice made for Meterline's invoice `invoiceId` (its metadata names it), created
   * at `since` (seconds) or later, with its status and the Meterline items on it; undefined when there is none.
   */
  ownInvoice(
    customerId: string,
    invoiceId: string,
    since: number,
  ): Promise<{ id: string; status: string; items: PlacedItem[] } | undefined>;
  /**
   * Creates a draft one-off invoice for Meterline's invoice `invoiceId` that takes none of the customer's pending
   * items, under `idempotencyKey`; its id.
   */
  createInvoice(
    customerId: string,
    invoice: { invoiceId: string; currency: string; description: string },
    idempotencyKey: string,
  ): Promise<string>;
  /** Finalizes a draft so the provider collects it, under `idempotencyKey`. */
  finalizeInvoice(id: string, idempotencyKey: string): Promise<void>;
}
