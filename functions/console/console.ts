import * as z from 'zod';
import { isOpen, type Watch } from '../../shared/alerts/episodes.js';
import { usageAnalytics } from '../../shared/billing/analytics.js';
import { type Invoice, invoiceStatuses } from '../../shared/billing/invoices.js';
import type { BillingReads } from '../../shared/billing/ports.js';
import { hasEnded, periodAt, planIdAt, type Subscription, timeZoneAt } from '../../shared/billing/subscriptions.js';
import { mapLimit } from '../../shared/kernel/batching.js';
import { sumMoney } from '../../shared/kernel/money.js';
import { httpApi, json, parseInput, routes } from '../../shared/platform/http.js';
import { type BillingIssue, billingIssueKinds } from '../../shared/stripe/mirror.js';
import { requireAdmin, requireAdminTenant } from '../../shared/tenancy/access.js';
import { type Tenant, tenantIdSchema } from '../../shared/tenancy/tenants.js';

export const billingIssuesQuery = z.strictObject({ tenantId: z.optional(tenantIdSchema), kind: z.enum(billingIssueKinds).optional() });

const countsByStatus = z.object(
  Object.fromEntries(invoiceStatuses.map((s) => [s, z.int()])) as Record<(typeof invoiceStatuses)[number], z.ZodInt>,
);

/** GET /v1/admin/console: every tenant's plan, this period's cost and projection, its invoices; what needs a person. */
export const consoleSchema = z.object({
  asOf: z.string(),
  tenants: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      plan: z.object({ id: z.string(), name: z.string() }).nullable(),
      currency: z.string().optional(),
      period: z.object({ start: z.string(), end: z.string() }).optional(),
      /** The zone whose days the period is made of. */
      timeZone: z.string().optional(),
      usageCost: z.string().optional(),
      baseFee: z.string().optional(),
      projectedCost: z.string().optional(),
      meters: z.array(z.object({ meter: z.string(), unit: z.string().optional(), quantity: z.string(), cost: z.string() })).optional(),
      invoices: countsByStatus,
      reconciliationMismatches: z.int(),
    }),
  ),
  /** Per currency. */
  projectedRevenue: z.record(z.string(), z.string()),
  invoicesByStatus: z.object(
    Object.fromEntries(invoiceStatuses.map((s) => [s, z.object({ count: z.int(), totals: z.record(z.string(), z.string()) })])) as Record<
      (typeof invoiceStatuses)[number],
      z.ZodObject<{ count: z.ZodInt; totals: z.ZodRecord<z.ZodString, z.ZodString> }>
    >,
  ),
  silentTenants: z.array(
    z.object({
      tenantId: z.string(),
      alertId: z.string(),
      meter: z.string(),
      since: z.string(),
      expectedGapMinutes: z.number().optional(),
    }),
  ),
  reconciliationMismatches: z.array(z.object({ tenantId: z.string(), id: z.string(), subject: z.string(), raisedAt: z.string() })),
});

export interface ConsoleDependencies {
  listTenants(): Promise<Tenant[]>;
  tenantExists(tenantId: string): Promise<boolean>;
  getSubscription(tenantId: string): Promise<Subscription | undefined>;
  listInvoices(tenantId: string, limit?: number): Promise<{ invoices: Invoice[] }>;
  /** Billing issues Stripe sync raised for the tenant (reconciliation mismatches among them); without one, those of no tenant. */
  billingIssues(tenantId?: string): Promise<BillingIssue[]>;
  /** What the tenant's anomaly and silence rules have seen: its open silences among them. */
  watches(tenantId: string): Promise<Watch[]>;
  reads: BillingReads;
  now(): number;
}

/**
 * The operator console's one read: every tenant with its plan, this period's usage and projected
 * revenue, its invoices by status and its reconciliation mismatches. It reads per tenant (a few
 * queries each, eight tenants at a time), which suits hundreds of tenants; thousands want a rollup
 * kept by the invoice and report jobs instead.
 */
export function createConsoleApi(deps: ConsoleDependencies) {
  return httpApi(
    routes({
      /** What Stripe sync raised for a person to look at, newest first: reconciliation mismatches, meter error reports, failed payments. */
      'GET /v1/admin/billing-issues': async (event) => {
        requireAdmin(event);
        const q = parseInput(billingIssuesQuery, event.queryStringParameters ?? {});
        const owners = q.tenantId
          ? [await requireAdminTenant(event, q.tenantId, deps.tenantExists)]
          : [undefined, ...(await deps.listTenants()).map((t) => t.id)];
        const issues = (await mapLimit(owners, 8, (tenantId) => deps.billingIssues(tenantId)))
          .flat()
          .filter((i) => !q.kind || i.kind === q.kind)
          .sort((a, b) => b.raisedAt.localeCompare(a.raisedAt));
        return json(200, { issues });
      },

      'GET /v1/admin/console': async (event) => {
        requireAdmin(event);
        const now = deps.now();
        const tenants = await deps.listTenants();
        const rows = await mapLimit(tenants, 8, async (tenant) => {
          const [sub, { invoices }, issues, watches] = await Promise.all([
            deps.getSubscription(tenant.id),
            deps.listInvoices(tenant.id, 100),
            deps.billingIssues(tenant.id),
            deps.watches(tenant.id),
          ]);
          const live = sub && !hasEnded(sub, now) && now >= Date.parse(sub.startedAt) ? sub : undefined;
          const analytics = live ? await usageAnalytics(deps.reads, live.tenantId, live, periodAt(live, now), now) : undefined;
          const plan = live ? await deps.reads.plan(planIdAt(live, now)) : undefined;
          return {
            tenant,
            invoices,
            mismatches: issues.filter((a) => a.kind === 'RECONCILIATION_MISMATCH'),
            silent: watches.filter((w) => w.window === 'silence' && isOpen(w)),
            summary: {
              id: tenant.id,
              name: tenant.name,
              plan: plan ? { id: plan.id, name: plan.name } : null,
              ...(analytics
                ? {
                    currency: analytics.currency,
                    period: analytics.period,
                    timeZone: timeZoneAt(live, now),
                    usageCost: analytics.usageCost,
                    baseFee: analytics.baseFee,
                    projectedCost: analytics.projectedCost,
                    meters: analytics.meters.map((m) => ({ meter: m.meter, unit: m.unit, quantity: m.quantity, cost: m.cost })),
                  }
                : {}),
              invoices: Object.fromEntries(invoiceStatuses.map((s) => [s, invoices.filter((i) => i.status === s).length])),
              reconciliationMismatches: issues.filter((a) => a.kind === 'RECONCILIATION_MISMATCH').length,
            },
          };
        });

        const byCurrency = (items: { currency: string; amount: string }[]) => {
          const groups = new Map<string, string[]>();
          for (const i of items) groups.set(i.currency, [...(groups.get(i.currency) ?? []), i.amount]);
          return Object.fromEntries(
            [...groups].map(([currency, amounts]) => [currency, sumMoney(amounts, currency as Invoice['currency'])]),
          );
        };
        const allInvoices = rows.flatMap((r) => r.invoices);
        return json(200, {
          asOf: new Date(now).toISOString(),
          tenants: rows.map((r) => r.summary),
          projectedRevenue: byCurrency(
            rows.flatMap((r) => (r.summary.currency ? [{ currency: r.summary.currency, amount: r.summary.projectedCost! }] : [])),
          ),
          invoicesByStatus: Object.fromEntries(
            invoiceStatuses.map((s) => {
              const matching = allInvoices.filter((i) => i.status === s);
              return [s, { count: matching.length, totals: byCurrency(matching.map((i) => ({ currency: i.currency, amount: i.total }))) }];
            }),
          ),
          // Tenants whose usage stopped (an open silence of a silence rule): each event since may be unbilled revenue.
          silentTenants: rows.flatMap((r) =>
            r.silent.map((w) => ({
              tenantId: r.tenant.id,
              alertId: w.alertId,
              meter: w.meter,
              since: w.episode!.start,
              expectedGapMinutes: w.episode!.expectedGapMinutes,
            })),
          ),
          reconciliationMismatches: rows.flatMap((r) =>
            r.mismatches.map((a) => ({ tenantId: r.tenant.id, id: a.id, subject: a.subject, raisedAt: a.raisedAt })),
          ),
        });
      },
    }),
  );
}
