/**
 * The DynamoDB tables, described once for the CDK stack, the local runtime and the tests.
 * Every table keys on string `pk` (+ `sk`); `expiresAt` is the TTL attribute where a table has one.
 */
export interface TableDefinition {
  /** Environment variable that carries the table's name into a function. */
  env: string;
  sortKey: boolean;
  ttl: boolean;
  /** One overloaded global secondary index (`gsi1pk`/`gsi1sk`), where listings need it. */
  gsi1: boolean;
}

export const tables = {
  /**
   * The raw event ledger and the idempotency record in one item per (tenant, event id): counted events, and
   * quarantined ones (no write could take them), which alone carry the index keys that list them. TTL:
   * LEDGER_RETENTION_DAYS (40, at least 35) after receipt (quarantined events do not expire); beyond that the raw usage
   * lives in the monthly exports to S3, kept as long as an invoice can be disputed (infra/evidence.ts,
   * docs/operations.md#usage-evidence).
   */
  events: { env: 'EVENTS_TABLE', sortKey: false, ttl: true, gsi1: true },
  /** Rejected events by tenant and receipt time, one compact item per ingest request, kept as long as the ledger. */
  rejections: { env: 'REJECTIONS_TABLE', sortKey: true, ttl: true, gsi1: false },
  /**
   * Per tenant × meter × hour/day/month counters, the distinct-value markers of UNIQUE_COUNT meters, and the readings
   * of TIME_WEIGHTED meters (one item each).
   */
  counters: { env: 'COUNTERS_TABLE', sortKey: true, ttl: false, gsi1: false },
  /** Tenants, their meters and API keys, and dashboard sessions (TTL: a session is deleted once it expires). */
  tenants: { env: 'TENANTS_TABLE', sortKey: true, ttl: true, gsi1: true },
  /**
   * Stripe state: tenant ↔ customer mapping, what was reported per tenant × meter × day, report runs,
   * webhook event ids seen, mirrored subscriptions and invoices, billing issues.
   */
  stripe: { env: 'STRIPE_TABLE', sortKey: true, ttl: true, gsi1: false },
  /** Plans, subscriptions, invoices (one per tenant × period: the period's closing marker) and invoice-number counters. */
  billing: { env: 'BILLING_TABLE', sortKey: true, ttl: false, gsi1: true },
  /**
   * Tenants' webhook endpoints and the delivery log (deliveries expire after 30 days; the index lists them per endpoint),
   * their email recipients and the email log (30 days too; the index lists a tenant's), and the email suppression list.
   */
  webhooks: { env: 'WEBHOOKS_TABLE', sortKey: true, ttl: true, gsi1: true },
  /**
   * Per-tenant rate limits (shared/tenancy/rate-limits.ts): one item per tenant (or service key) and bucket, holding
   * the current window's count and the limit an admin set. Its own table, so a function that counts requests is
   * granted nothing on the tenants table's keys, and its writes are billed apart.
   */
  rateLimits: { env: 'RATE_LIMITS_TABLE', sortKey: true, ttl: false, gsi1: false },
} satisfies Record<string, TableDefinition>;

export type TableName = keyof typeof tables;

export function tableName(table: TableName, env: NodeJS.ProcessEnv = process.env): string {
  const name = env[tables[table].env];
  if (!name) throw new Error(`${tables[table].env} is not set`);
  return name;
}
