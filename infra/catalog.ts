import type { TableName } from '../shared/platform/dynamo/tables.js';
import { REPORT_WORKERS } from '../shared/stripe/report-slices.js';

/**
 * Every Lambda function, what triggers it and what it may touch, as plain data: the CDK stack deploys
 * and grants from it, and the local runtime wires the same handlers to its gateway, queue poller,
 * scheduler and function URLs.
 */
export type Access = 'read' | 'write' | 'readwrite';

/** A table grant beyond the plain access level. */
export interface TableGrant {
  access: Access;
  /** DeleteItem too: only the functions whose code deletes items get it. */
  deletes?: boolean;
  /** Scan too (base table only): only the functions whose code reads a table whole get it. */
  scans?: boolean;
  /** Queries the table's `gsi1` index too (implied by `partitions.gsi1`): only the functions whose code lists through it. */
  index?: boolean;
  /**
   * The partition keys it may touch (`dynamodb:LeadingKeys`, `*` wildcards): `table` on the base table, `gsi1`
   * on the index (`table: []` for a function that only lists through the index), and `writes` for its writes when
   * they reach fewer partitions than its reads. Confines a function to some kinds of item, e.g. keeps it off API keys.
   */
  partitions?: { table: string[]; gsi1?: string[]; writes?: string[] };
}

export interface FunctionSpec {
  /** Handler module, relative to the repository root; it exports `handler`. */
  entry: string;
  memoryMb: number;
  timeoutSeconds: number;
  /** HTTP API routes ("METHOD /path/{param}"), all behind the API key authorizer. */
  routes?: string[];
  /** Consumes the usage queue. */
  consumesUsageQueue?: boolean;
  /** Sends to the usage queue. */
  sendsToUsageQueue?: boolean;
  /** EventBridge Scheduler expression, in UTC: `rate(5 minutes)` or `cron(0 1 * * ? *)`. */
  schedule?: string;
  /** Served by a Lambda function URL (no authorizer: the function verifies its callers itself). */
  functionUrl?: boolean;
  /** Least privilege: the tables it reads or writes, and nothing else. */
  tables: Partial<Record<TableName, Access | TableGrant>>;
  /** Secrets Manager secrets it reads (names in infra/secrets.ts). */
  secrets?: string[];
  /**
   * Publishes domain events: onto the Meterline event bus (EVENT_BUS_NAME) and, per subscribed tenant
   * endpoint, a delivery onto the webhook queue (WEBHOOK_QUEUE_URL). Needs `webhooks: 'readwrite'`.
   */
  publishesEvents?: boolean;
  /** Sends to the webhook delivery queue (implied by publishesEvents and consumesWebhookQueue). */
  sendsToWebhookQueue?: boolean;
  /** Consumes the webhook delivery queue, at most `webhookQueueSettings.maxConcurrency` at once (and sends to it: retries are new, delayed messages). */
  consumesWebhookQueue?: boolean;
  /** Sends slices of the Stripe report onto the report queue. */
  sendsToReportQueue?: boolean;
  /** Consumes the report queue, at most `reportQueueSettings.maxConcurrency` at once. */
  consumesReportQueue?: boolean;
  /** Sends to the email queue (EMAIL_QUEUE_URL): an email to attempt, such as a recipient's verification. */
  sendsToEmailQueue?: boolean;
  /**
   * Consumes the email queue, which the event buses fill (every Meterline domain event, SES's bounces and complaints),
   * and sends to it (retries); sends mail through SES and reads the `email-links` secret.
   */
  consumesEmailQueue?: boolean;
  /** Writes the Parquet export's bucket (EXPORT_BUCKET): its files under usage/ and its progress under state/. */
  writesExport?: boolean;
  /** Reads the Parquet export's bucket (EXPORT_BUCKET): lists and gets its files under usage/ and its progress. */
  readsExport?: boolean;
}

export const functionCatalog = {
  authorizer: {
    entry: 'functions/authorizer/handler.ts',
    memoryMb: 256,
    timeoutSeconds: 5,
    tables: { tenants: 'read' },
  },
  ingest: {
    entry: 'functions/ingest/handler.ts',
    memoryMb: 1024,
    timeoutSeconds: 10,
    // The last route is OpenMeter's ingest contract, for OpenMeter clients pointed at Meterline.
    // The admin's replay of events refused as UNKNOWN_METER takes the same path, so it lives here too.
    routes: [
      'POST /v1/events',
      'POST /v1/admin/tenants/{tenantId}/events',
      'POST /api/v1/events',
      'POST /v1/admin/tenants/{tenantId}/rejections/replay',
    ],
    sendsToUsageQueue: true,
    tables: { tenants: 'read', events: 'read', billing: 'read', rejections: 'readwrite', rateLimits: 'write' },
  },
  consumer: {
    entry: 'functions/consumer/handler.ts',
    memoryMb: 1024,
    timeoutSeconds: 60,
    consumesUsageQueue: true,
    publishesEvents: true,
    tables: { events: 'write', counters: 'write', rejections: 'write', webhooks: 'readwrite' },
  },
  events: {
    entry: 'functions/events/handler.ts',
    memoryMb: 256,
    timeoutSeconds: 10,
    // The catch-all routes answer unknown paths with the error contract; no OPTIONS one, so that API Gateway keeps
    // answering CORS preflights itself.
    routes: [
      'GET /v1/events',
      'GET /v1/events/{id}',
      'GET /{proxy+}',
      'POST /{proxy+}',
      'PUT /{proxy+}',
      'DELETE /{proxy+}',
      'PATCH /{proxy+}',
    ],
    tables: { events: { access: 'read', index: true }, rejections: 'read', rateLimits: 'write' },
    // Its listings hand out signed cursors.
    secrets: ['cursor'],
  },
  quarantine: {
    entry: 'functions/quarantine/handler.ts',
    memoryMb: 256,
    timeoutSeconds: 30,
    routes: ['GET /v1/admin/quarantine', 'POST /v1/admin/tenants/{tenantId}/events/{id}/replay'],
    tables: { tenants: 'read', events: { access: 'readwrite', index: true }, counters: 'write' },
    // Its listings hand out signed cursors.
    secrets: ['cursor'],
  },
  recompute: {
    entry: 'functions/recompute/handler.ts',
    memoryMb: 256,
    timeoutSeconds: 10,
    routes: ['POST /v1/admin/tenants/{tenantId}/recompute', 'GET /v1/admin/recompute/{jobId}'],
    tables: { tenants: 'read', events: 'readwrite' },
  },
  // Runs recompute jobs outside the request that starts them: a schedule needs no queue or invoke permission of its
  // own, plays locally like every other schedule, and a job resumes after a failed run when its lease ends.
  'recompute-worker': {
    entry: 'functions/recompute-worker/handler.ts',
    memoryMb: 1024,
    timeoutSeconds: 900,
    schedule: 'rate(1 minute)',
    // The ledger has no per-tenant index, so a job scans it (shared/metering/adapters/recompute-store.ts); repairs
    // delete counters the ledger has no event for (MAX, LATEST) and distinct-value markers it does not hold.
    tables: {
      tenants: 'read',
      events: { access: 'readwrite', scans: true, index: true },
      counters: { access: 'readwrite', deletes: true },
    },
  },
  usage: {
    entry: 'functions/usage/handler.ts',
    memoryMb: 512,
    timeoutSeconds: 10,
    routes: ['GET /v1/meters', 'GET /v1/usage', 'GET /v1/usage/current'],
    // billing: the subscription, whose time zone a series' days and months follow.
    tables: { tenants: 'read', counters: 'read', billing: 'read', rateLimits: 'write' },
  },
  admin: {
    entry: 'functions/admin/handler.ts',
    memoryMb: 256,
    timeoutSeconds: 10,
    routes: [
      'POST /v1/admin/tenants',
      'GET /v1/admin/tenants',
      'GET /v1/admin/tenants/{tenantId}',
      'GET /v1/admin/tenants/{tenantId}/meters',
      'PUT /v1/admin/tenants/{tenantId}/meters/{meter}',
      'GET /v1/admin/tenants/{tenantId}/api-keys',
      'POST /v1/admin/tenants/{tenantId}/api-keys',
      'DELETE /v1/admin/tenants/{tenantId}/api-keys/{keyId}',
      'GET /v1/admin/api-keys',
      'POST /v1/admin/api-keys',
      'DELETE /v1/admin/api-keys/{keyId}',
      'GET /v1/admin/service-keys',
      'POST /v1/admin/service-keys',
      'DELETE /v1/admin/service-keys/{keyId}',
      'PUT /v1/admin/service-keys/{keyId}/rate-limits',
      'PUT /v1/admin/tenants/{tenantId}/rate-limits',
    ],
    // rateLimits: the limits an admin sets per tenant.
    tables: { tenants: { access: 'readwrite', index: true }, rateLimits: 'readwrite' },
  },
  corrections: {
    entry: 'functions/corrections/handler.ts',
    memoryMb: 512,
    timeoutSeconds: 10,
    routes: ['POST /v1/events/{id}/corrections', 'POST /v1/admin/tenants/{tenantId}/events/{id}/corrections'],
    // usage.corrected, to the tenants that stream their usage.
    publishesEvents: true,
    tables: { tenants: 'read', events: 'readwrite', counters: { access: 'write', deletes: true }, webhooks: 'readwrite' },
  },
  alerts: {
    entry: 'functions/alerts/handler.ts',
    memoryMb: 256,
    timeoutSeconds: 10,
    routes: [
      'GET /v1/alerts',
      'GET /v1/alerts/{alertId}',
      'PUT /v1/alerts/{alertId}',
      'DELETE /v1/alerts/{alertId}',
      'POST /v1/webhooks',
      'GET /v1/webhooks',
      'GET /v1/webhooks/{endpointId}',
      'PUT /v1/webhooks/{endpointId}',
      'DELETE /v1/webhooks/{endpointId}',
      'POST /v1/webhooks/{endpointId}/rotate-secret',
      'GET /v1/webhooks/{endpointId}/deliveries',
      'POST /v1/webhooks/{endpointId}/deliveries/{deliveryId}/replay',
      'GET /v1/email/recipients',
      'POST /v1/email/recipients',
      'PUT /v1/email/recipients/{address}',
      'DELETE /v1/email/recipients/{address}',
      'POST /v1/email/recipients/{address}/verify',
      'GET /v1/email/messages',
    ],
    // Replaying a delivery puts it back on the webhook queue; a new recipient's verification mail goes on the email queue.
    sendsToWebhookQueue: true,
    sendsToEmailQueue: true,
    // Alerts and meters live in the tenant's partition; API keys in their own, out of reach.
    tables: {
      tenants: { access: 'readwrite', deletes: true, partitions: { table: ['TENANT#*'] } },
      billing: 'read',
      webhooks: { access: 'readwrite', deletes: true, index: true },
      rateLimits: 'write',
    },
    // Its deliveries listing hands out signed cursors.
    secrets: ['cursor'],
  },
  'alert-evaluator': {
    entry: 'functions/alert-evaluator/handler.ts',
    memoryMb: 512,
    timeoutSeconds: 300,
    schedule: 'rate(5 minutes)',
    publishesEvents: true,
    // The tenant list (index partition TENANTS) and the tenants' own partitions; never an API key.
    tables: {
      tenants: { access: 'readwrite', partitions: { table: ['TENANT#*'], gsi1: ['TENANTS'] } },
      counters: 'read',
      // Progressive billing: issues invoices (the tenant's partition) and takes their numbers (the year's counter).
      billing: {
        access: 'readwrite',
        partitions: { table: ['PLAN#*', 'TENANT#*', 'BILLING-PAUSES', 'INVOICE-NUMBER#*'], writes: ['TENANT#*', 'INVOICE-NUMBER#*'] },
      },
      webhooks: 'readwrite',
      // The tenant's Stripe customer; the secret key makes a progressive invoice a Stripe invoice.
      stripe: 'read',
    },
    secrets: ['stripe'],
  },
  'webhook-delivery': {
    entry: 'functions/webhook-delivery/handler.ts',
    memoryMb: 256,
    // Ten deliveries of at most 10 s each, one after another in the worst case, plus the log writes.
    timeoutSeconds: 120,
    consumesWebhookQueue: true,
    tables: { webhooks: 'readwrite' },
  },
  // Mails every domain event the bus carries to its recipients (shared/alerts/email-delivery.ts), and suppresses the
  // addresses SES reports bounced or complained: the tenant's name and, for an issued invoice, the invoice and the
  // parties for its PDF; recipients, the email log and the suppression list in the webhooks table.
  'email-delivery': {
    entry: 'functions/email-delivery/handler.ts',
    memoryMb: 512,
    // Ten messages, each a few recipients of a few seconds of SES or SMTP at most, and an invoice PDF.
    timeoutSeconds: 120,
    consumesEmailQueue: true,
    tables: {
      tenants: { access: 'read', partitions: { table: ['TENANT#*'] } },
      billing: { access: 'read', index: true },
      webhooks: 'readwrite',
    },
    secrets: ['email-links'],
  },
  // The links in mails, without a login: a recipient's verification, its preferences, one-click unsubscribe (RFC 8058).
  // Each request carries a link signed by the email worker.
  'email-links': {
    entry: 'functions/email-links/handler.ts',
    memoryMb: 256,
    timeoutSeconds: 10,
    functionUrl: true,
    tables: { webhooks: 'readwrite' },
    secrets: ['email-links'],
  },
  invoicing: {
    entry: 'functions/invoicing/handler.ts',
    memoryMb: 1024,
    // Hourly, so a period closes within an hour of its grace window ending; 10,000 tenants take a few minutes.
    timeoutSeconds: 900,
    schedule: 'cron(5 * * * ? *)',
    publishesEvents: true,
    // stripe: the mirrored Stripe invoice a new invoice starts out following, the tenant's Stripe customer, and the
    // billing issue raised when credit and true-up lines missed Stripe's draft; the secret key adds them to the draft.
    tables: {
      tenants: 'read',
      counters: 'read',
      billing: { access: 'readwrite', index: true },
      webhooks: 'readwrite',
      stripe: 'readwrite',
    },
    secrets: ['stripe'],
  },
  billing: {
    entry: 'functions/billing/handler.ts',
    memoryMb: 512,
    timeoutSeconds: 10,
    // The literal route before the {id} one: the local gateway matches in order (API Gateway by specificity).
    routes: [
      'GET /v1/invoices',
      'GET /v1/invoices/upcoming',
      'GET /v1/invoices/{id}',
      'GET /v1/invoices/{id}/html',
      'GET /v1/invoices/{id}/pdf',
      'GET /v1/analytics',
      'GET /v1/pricing',
      'GET /v1/pricing/plans',
      'GET /v1/pricing/simulate',
      'GET /v1/quotas',
      'GET /v1/quotas/{meter}',
      'GET /v1/entitlements',
      'GET /v1/entitlements/{feature}',
      'GET /v1/credits',
    ],
    tables: { tenants: 'read', counters: 'read', billing: { access: 'read', index: true }, rateLimits: 'write' },
  },
  'billing-admin': {
    entry: 'functions/billing-admin/handler.ts',
    memoryMb: 256,
    timeoutSeconds: 10,
    routes: [
      'GET /v1/admin/plans',
      'GET /v1/admin/plans/{planId}',
      'PUT /v1/admin/plans/{planId}',
      'GET /v1/admin/plans/{planId}/versions',
      'POST /v1/admin/plans/{planId}/versions',
      'POST /v1/admin/plans/{planId}/migrations',
      'GET /v1/admin/tenants/{tenantId}/subscription',
      'PUT /v1/admin/tenants/{tenantId}/subscription',
      'GET /v1/admin/tenants/{tenantId}/quotas',
      'PUT /v1/admin/tenants/{tenantId}/quotas/{meter}',
      'DELETE /v1/admin/tenants/{tenantId}/quotas/{meter}',
      'GET /v1/admin/tenants/{tenantId}/credits',
      'POST /v1/admin/tenants/{tenantId}/credits',
      'POST /v1/admin/tenants/{tenantId}/credits/{grantId}/void',
      'GET /v1/admin/tenants/{tenantId}/invoices',
      'POST /v1/admin/tenants/{tenantId}/invoices/{id}/status',
      'GET /v1/admin/billing/pauses',
      'PUT /v1/admin/billing/pause',
      'POST /v1/admin/simulations',
      'GET /v1/admin/simulations/{jobId}',
      'GET /v1/admin/simulations/{jobId}/csv',
      'DELETE /v1/admin/billing/pause',
      'PUT /v1/admin/tenants/{tenantId}/billing/pause',
      'DELETE /v1/admin/tenants/{tenantId}/billing/pause',
      'POST /v1/admin/tenants/{tenantId}/invoices/{id}/reissue',
      'GET /v1/admin/billing/seller',
      'PUT /v1/admin/billing/seller',
      'GET /v1/admin/tenants/{tenantId}/billing-details',
      'PUT /v1/admin/tenants/{tenantId}/billing-details',
    ],
    publishesEvents: true,
    // Quotas and billing pauses are deleted (DELETE .../quotas/{meter}, DELETE .../billing/pause); a new subscription's
    // default alert rules go into the tenant's partition.
    tables: {
      tenants: { access: 'readwrite', partitions: { table: ['TENANT#*'] } },
      counters: 'read',
      billing: { access: 'readwrite', deletes: true, index: true },
      webhooks: 'readwrite',
    },
  },
  // Runs fleet price simulations outside the request that starts them, as recompute-worker runs recompute jobs: every
  // subscription's invoices, meters and counters are read a page at a time, and the outcomes written a page per item.
  'simulation-worker': {
    entry: 'functions/simulation-worker/handler.ts',
    memoryMb: 1024,
    timeoutSeconds: 900,
    schedule: 'rate(1 minute)',
    tables: {
      tenants: { access: 'read', partitions: { table: ['TENANT#*'] } },
      counters: 'read',
      billing: {
        access: 'readwrite',
        index: true,
        partitions: { table: ['PLAN#*', 'TENANT#*', 'SIMULATION#*'], gsi1: ['SUBSCRIPTIONS', 'SIMULATION-JOBS'], writes: ['SIMULATION#*'] },
      },
    },
  },
  openapi: {
    entry: 'functions/openapi/handler.ts',
    memoryMb: 256,
    timeoutSeconds: 5,
    routes: ['GET /v1/openapi.json'],
    tables: {},
  },
  'dashboard-sessions': {
    entry: 'functions/dashboard-sessions/handler.ts',
    memoryMb: 256,
    timeoutSeconds: 10,
    routes: ['POST /v1/dashboard/sessions', 'GET /v1/dashboard/session', 'DELETE /v1/dashboard/sessions/{sessionId}'],
    // Reads the tenant a session is for, writes only sessions: a tenant-reachable function never mints an API key.
    tables: { tenants: { access: 'readwrite', partitions: { table: ['TENANT#*', 'SESSION#*'], writes: ['SESSION#*'] } } },
  },
  'billing-portal': {
    entry: 'functions/billing-portal/handler.ts',
    memoryMb: 256,
    timeoutSeconds: 20,
    routes: ['POST /v1/billing/portal-sessions'],
    tables: { stripe: 'read' },
    // A tenant-facing route: a restricted key that can only open portal sessions, never the secret key the jobs use.
    secrets: ['stripe-portal'],
  },
  console: {
    entry: 'functions/console/handler.ts',
    memoryMb: 512,
    timeoutSeconds: 30,
    routes: ['GET /v1/admin/console', 'GET /v1/admin/billing-issues'],
    tables: { tenants: { access: 'read', index: true }, counters: 'read', billing: 'read', stripe: 'read' },
  },
  // The daily report's planner: lists the tenants (the index's TENANTS partition, page by page) and sends them in
  // slices onto the report queue; 1,000,000 tenants are 1,000 messages, well inside a minute.
  'usage-report': {
    entry: 'functions/usage-report/handler.ts',
    memoryMb: 256,
    timeoutSeconds: 300,
    schedule: 'cron(0 1 * * ? *)',
    sendsToReportQueue: true,
    tables: { tenants: { access: 'read', partitions: { table: [], gsi1: ['TENANTS'] } } },
  },
  // Reports one slice per invocation: about 28 s for 1,000 tenants × 5 meters at its share of Stripe's rate
  // (shared/stripe/report-slices.ts); the rest of the timeout is headroom for corrections and onboarding.
  'usage-report-worker': {
    entry: 'functions/usage-report-worker/handler.ts',
    memoryMb: 1024,
    timeoutSeconds: 300,
    consumesReportQueue: true,
    publishesEvents: true,
    // Tenants by id and their meters, in their own partitions: never the tenant list or an API key.
    tables: {
      tenants: { access: 'read', partitions: { table: ['TENANT#*'] } },
      counters: 'read',
      billing: 'read',
      stripe: 'readwrite',
      webhooks: 'readwrite',
    },
    secrets: ['stripe'],
  },
  // The Parquet export (docs/usage-export.md): daily, after the day's last folds settled; it scans the ledger twice
  // (what changed, then those partitions whole) and holds the partitions it writes in memory.
  'usage-export': {
    entry: 'functions/usage-export/handler.ts',
    memoryMb: 3008,
    timeoutSeconds: 900,
    schedule: 'cron(30 0 * * ? *)',
    writesExport: true,
    tables: { events: { access: 'read', scans: true } },
  },
  // A tenant's own events, read back from the Parquet export a page per request (docs/usage-export.md).
  'usage-export-api': {
    entry: 'functions/usage-export-api/handler.ts',
    // A page reads one tenant × day file whole (up to a million rows, ~50 MB) and decodes only the rows it returns.
    memoryMb: 1024,
    timeoutSeconds: 29,
    routes: ['GET /v1/usage/export'],
    readsExport: true,
    tables: { rateLimits: 'write' },
    // Its pages hand out signed cursors.
    secrets: ['cursor'],
  },
  'stripe-webhook': {
    entry: 'functions/stripe-webhook/handler.ts',
    memoryMb: 512,
    timeoutSeconds: 20,
    functionUrl: true,
    publishesEvents: true,
    // billing: Meterline's invoice follows Stripe's (linked, status moved).
    tables: { tenants: 'read', stripe: 'readwrite', billing: { access: 'readwrite', index: true }, webhooks: 'readwrite' },
    // Its signing secret and a restricted key that can only read from Stripe, never the secret key the jobs use.
    secrets: ['stripe-webhook'],
  },
} satisfies Record<string, FunctionSpec>;

export type FunctionName = keyof typeof functionCatalog;

/** A grant in its full form. */
export function tableGrant(grant: Access | TableGrant): TableGrant {
  return typeof grant === 'string' ? { access: grant } : grant;
}

export const functionSpecs = functionCatalog as Record<FunctionName, FunctionSpec>;

/** Usage queue settings shared by the stack and the local runtime. */
export const usageQueueSettings = {
  /** Receives before a message moves to the DLQ: enough to ride out throttling, few enough to surface poison fast. */
  maxReceiveCount: 5,
  batchSize: 10,
  /**
   * No batching window: a poller invokes the consumer with what one receive returns (up to batchSize), so an idle
   * queue's event is counted a few hundred milliseconds after ingest instead of after a one-second wait. Under load a
   * receive fills the batch anyway; `npm run bench -- e2e` measures event -> visible and the cost per event with it.
   */
  maxBatchingWindowSeconds: 0,
} as const;

/**
 * Webhook delivery queue settings. A message is one attempt; its wait before a retry is SQS's per-message
 * DelaySeconds (at most 900 s), hopped again for longer waits, so neither the 12-hour visibility timeout
 * limit nor maxReceiveCount bound the 24-hour retry series. The DLQ only catches a worker that keeps failing.
 */
export const webhookQueueSettings = {
  maxReceiveCount: 5,
  batchSize: 10,
  maxBatchingWindowSeconds: 0,
  /**
   * Batches delivered at once. Endpoints are the tenants' own and may take the full 10 s each, so this bounds what slow
   * endpoints can hold of the account's concurrency (the mapping's minimum is 2); a backlog waits in the queue instead.
   */
  maxConcurrency: 5,
} as const;

/**
 * Stripe report queue settings: one slice per invocation (a slice already fills a good part of the timeout), and at
 * most REPORT_WORKERS invocations at once, so the workers' paces add up to less than Stripe's meter event rate.
 */
export const reportQueueSettings = {
  maxReceiveCount: 5,
  batchSize: 1,
  maxBatchingWindowSeconds: 0,
  maxConcurrency: REPORT_WORKERS,
} as const;

/**
 * Email queue settings: the webhook queue's shape (a message per attempt, retries as delayed messages), at most a few
 * batches at once so the account's SES sending rate (1 per second in the sandbox) is not overrun by a burst.
 */
export const emailQueueSettings = {
  maxReceiveCount: 5,
  batchSize: 10,
  maxBatchingWindowSeconds: 0,
  maxConcurrency: 2,
} as const;

export const sendsToEmailQueue = (spec: FunctionSpec): boolean => Boolean(spec.sendsToEmailQueue || spec.consumesEmailQueue);

export const sendsToWebhookQueue = (spec: FunctionSpec): boolean =>
  Boolean(spec.sendsToWebhookQueue || spec.publishesEvents || spec.consumesWebhookQueue);
