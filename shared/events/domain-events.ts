import * as z from 'zod';

/**
 * Meterline's domain events: what a tenant's webhook endpoints receive (the JSON body of a delivery) and
 * what the `meterline` event bus carries (an event's `detail`, with `detail-type` = `type`). Every event
 * has a stable `id`: the same fact announced twice (a retried publication, a replayed delivery) carries
 * the same id, so a consumer drops repeats by id. These schemas are the documented contract (docs/alerts.md,
 * "Domain events"); fields are only ever added.
 */
const instant = z.iso.datetime();
const decimal = z.string();
const period = z.strictObject({ start: instant, end: instant });
/** One usage event as the stream carries it: the value exact as a decimal string, the properties as sent. */
const recordedUsage = z.strictObject({
  eventId: z.string(),
  timestamp: instant,
  value: decimal,
  subject: z.string().optional(),
  properties: z.record(z.string(), z.unknown()).optional(),
  receivedAt: instant,
});

export const domainEventSchemas = {
  /** A quantity or percentage rule crossed its threshold in the billing period. */
  'usage.threshold_crossed': z.strictObject({
    alertId: z.string(),
    name: z.string().optional(),
    kind: z.enum(['quantity', 'percent']),
    meter: z.string(),
    /** Percent rules: what the percentage is of, and the percentage. */
    of: z.enum(['included', 'quota']).optional(),
    percent: decimal.optional(),
    /** In the meter's unit; a percent rule's percentage resolved against the quota. */
    threshold: decimal,
    value: decimal,
    period,
  }),
  /** A hard quota was reached in the billing period (once per quota and period). */
  'quota.exceeded': z.strictObject({ meter: z.string(), limit: decimal, value: decimal, period }),
  /** The period's cost so far, or its projected cost at the end, crossed a spend rule's amount. */
  'spend.threshold_crossed': z.strictObject({
    alertId: z.string(),
    name: z.string().optional(),
    basis: z.enum(['current', 'projected']),
    threshold: decimal,
    value: decimal,
    currency: z.string(),
    period,
  }),
  /**
   * A meter's latest complete hour or day lay outside the range its own history expects (an anomaly rule),
   * announced once per episode: the first window out of range starts it, the first one back in range ends it.
   */
  'usage.anomaly_detected': z.strictObject({
    alertId: z.string(),
    name: z.string().optional(),
    meter: z.string(),
    window: z.enum(['hour', 'day']),
    /** The window judged: `[start, end)`. */
    period,
    direction: z.enum(['spike', 'drop']),
    observed: decimal,
    /** The baseline's centre and the range the observed value was expected in. */
    expected: decimal,
    low: decimal,
    high: decimal,
    sensitivity: z.enum(['low', 'medium', 'high']),
  }),
  /** A meter (or, without `meter`, every meter of the tenant) reported nothing for longer than its expected gap. */
  'usage.silent': z.strictObject({
    alertId: z.string(),
    name: z.string().optional(),
    meter: z.string().optional(),
    /** When events were last seen (the episode's start). */
    since: instant,
    expectedGapMinutes: z.number().int(),
    /** Whether the gap was learned from history or configured on the rule. */
    learned: z.boolean(),
  }),
  /** Events arrived again after a `usage.silent` (same rule, meter and `since`). */
  'usage.resumed': z.strictObject({
    alertId: z.string(),
    name: z.string().optional(),
    meter: z.string().optional(),
    since: instant,
    resumedAt: instant,
  }),
  /** The prepaid credit balance fell to a balance rule's amount or under it. */
  'credits.balance_low': z.strictObject({
    alertId: z.string(),
    name: z.string().optional(),
    threshold: decimal,
    value: decimal,
    currency: z.string(),
    period,
  }),
  'invoice.issued': z.strictObject({
    invoiceId: z.string(),
    number: z.string(),
    status: z.string(),
    currency: z.string(),
    total: decimal,
    periodStart: instant,
    periodEnd: instant,
    issuedAt: instant,
  }),
  'invoice.status_changed': z.strictObject({
    invoiceId: z.string(),
    number: z.string(),
    from: z.string(),
    to: z.string(),
    at: instant,
    /** Who moved it: an admin through the API, or a Stripe webhook. */
    source: z.enum(['admin', 'stripe']),
    stripeInvoiceId: z.string().optional(),
    hostedInvoiceUrl: z.string().optional(),
  }),
  /**
   * Stripe could not collect an invoice's payment (each failed attempt, by Stripe's event id). Amounts are in the
   * currency's major unit; `number` is Meterline's invoice for the same period, when it was issued.
   */
  'invoice.payment_failed': z.strictObject({
    stripeInvoiceId: z.string(),
    number: z.string().optional(),
    currency: z.string(),
    total: decimal,
    hostedInvoiceUrl: z.string().optional(),
  }),
  /** A usage event the consumer could not fold was set aside with its reason (GET /v1/events/{id} shows it). */
  'event.quarantined': z.strictObject({ eventId: z.string(), meter: z.string(), reason: z.string(), receivedAt: instant }),
  /**
   * Counted usage events of one meter, in a batch (the stream a tenant turns on by subscribing an endpoint to it).
   * Each event's `eventId` is its stable id: a subscriber drops an event it already has by it.
   */
  'usage.recorded': z.strictObject({ meter: z.string(), events: z.array(recordedUsage) }),
  /** A counted event was corrected (`replace`, with the version now counted in `after`) or voided. */
  'usage.corrected': z.strictObject({
    eventId: z.string(),
    meter: z.string(),
    correctionId: z.string(),
    action: z.enum(['replace', 'void']),
    before: recordedUsage,
    after: recordedUsage.optional(),
    correctedAt: instant,
  }),
  /** A finalized Stripe invoice bills usage that differs from Meterline's for the same period. */
  'reconciliation.mismatch': z.strictObject({
    stripeInvoiceId: z.string(),
    period,
    mismatches: z.array(
      z.strictObject({
        kind: z.string(),
        meter: z.string().optional(),
        /** A credit or true-up line (`INVOICE_ITEM`): `credit:<grant>` or `commitment`. */
        line: z.string().optional(),
        /** What Stripe's invoice says, and what Meterline's says. */
        stripe: z.string().optional(),
        meterline: z.string().optional(),
      }),
    ),
  }),
  /**
   * Usage did not reach Stripe: the daily report failed for some meters or days (`source: "usage_report"`;
   * the next run retries them with the same identifiers), or Stripe refused meter events it had taken
   * (`source: "stripe_error_report"`, from its meter error reports).
   */
  'stripe.report_failed': z.strictObject({
    source: z.enum(['usage_report', 'stripe_error_report']),
    errors: z.array(z.strictObject({ meter: z.string().optional(), day: z.string().optional(), code: z.string(), message: z.string() })),
  }),
} as const;

export type DomainEventType = keyof typeof domainEventSchemas;
export const domainEventTypes = Object.keys(domainEventSchemas) as [DomainEventType, ...DomainEventType[]];
export type DomainEventData<T extends DomainEventType> = z.infer<(typeof domainEventSchemas)[T]>;

export interface DomainEvent<T extends DomainEventType = DomainEventType> {
  id: string;
  type: T;
  tenantId: string;
  occurredAt: string;
  data: DomainEventData<T>;
}

/** The envelope's schema, for consumers and tests: `data` is checked against its type's schema. */
export const domainEventSchema = z
  .strictObject({ id: z.string().min(1), type: z.enum(domainEventTypes), tenantId: z.string(), occurredAt: instant, data: z.unknown() })
  .superRefine((e, ctx) => {
    const r = domainEventSchemas[e.type].safeParse(e.data);
    if (!r.success)
      for (const issue of r.error.issues)
        ctx.addIssue({ code: 'custom', path: ['data', ...issue.path.map(String)], message: issue.message });
  });

/**
 * An event whose id is derived from what it is about (`key`), never from the moment it is published:
 * `usage.threshold_crossed:acme:orders-80:2026-11-01T00:00:00.000Z`.
 */
export function domainEvent<T extends DomainEventType>(
  type: T,
  tenantId: string,
  key: string,
  data: DomainEventData<T>,
  occurredAt: string,
): DomainEvent<T> {
  return { id: `${type}:${tenantId}:${key}`, type, tenantId, occurredAt, data };
}

/** Publishes domain events on every channel (event bus, tenant webhooks); at least once, never lost silently. */
export interface DomainEventPublisher {
  publish(event: DomainEvent): Promise<void>;
}
