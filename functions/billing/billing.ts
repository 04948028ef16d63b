import * as z from 'zod';
import { usageAnalytics } from '../../shared/billing/analytics.js';
import { grantStandingSchema } from '../../shared/billing/credits.js';
import { effectiveQuotas, entitlement, featureKeySchema, notIncluded } from '../../shared/billing/entitlements.js';
import { invoiceDocument } from '../../shared/billing/invoice-document.js';
import { draftInvoice, liveCredits, periodSpend, requirePlan } from '../../shared/billing/invoice-drafts.js';
import { invoiceSummary, invoiceSummarySchema } from '../../shared/billing/invoices.js';
import { unsetSeller } from '../../shared/billing/parties.js';
import { versionAt } from '../../shared/billing/plan-versions.js';
import { planSchema } from '../../shared/billing/plans.js';
import type { BillingReads, BillingStore } from '../../shared/billing/ports.js';
import { creditStanding, creditStandingSchema } from '../../shared/billing/prepaid.js';
import { deductEarlier } from '../../shared/billing/progressive.js';
import {
  type QuotaReads,
  quotaPeriod,
  quotaStatus,
  quotaStatusSchema,
  quotaUsage,
  uncapped,
  withStanding,
} from '../../shared/billing/quotas.js';
import { pricingSimulationQuery, simulate } from '../../shared/billing/simulations.js';
import { hasEnded, periodAt, planIdAt, type Subscription, timeZoneAt } from '../../shared/billing/subscriptions.js';
import { Dec } from '../../shared/kernel/decimal.js';
import { ClientError } from '../../shared/kernel/errors.js';
import { decimalString, roundMoney } from '../../shared/kernel/money.js';
import { type HttpEvent, httpApi, json, parseInput, routes } from '../../shared/platform/http.js';
import { requireTenant } from '../../shared/tenancy/access.js';
import { renderInvoicePdf } from './pdf.js';
import { renderInvoiceHtml } from './render.js';

export interface BillingApiDependencies {
  store: Pick<
    BillingStore,
    | 'getSubscription'
    | 'latestInvoice'
    | 'listInvoices'
    | 'getInvoice'
    | 'listQuotas'
    | 'getSeller'
    | 'getCustomer'
    | 'credits'
    | 'progressiveInvoices'
    | 'listPlans'
    | 'planVersions'
  >;
  /** The tenant's name, for invoices of a tenant without billing details. */
  tenantName(tenantId: string): Promise<string | undefined>;
  reads: BillingReads;
  quotaReads: QuotaReads;
  now(): number;
}

export const quotaQuery = z.object({ quantity: decimalString.optional() });
export const featurePath = z.object({ feature: featureKeySchema });

export const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.iso.datetime().optional(),
});

const spanSchema = z.object({ start: z.string(), end: z.string() });

/** GET /v1/quotas: the tenant's quotas with their usage this period. */
export const quotasSchema = z.object({
  period: spanSchema,
  asOf: z.string(),
  prepaid: creditStandingSchema.optional(),
  quotas: z.array(quotaStatusSchema),
});

/** GET /v1/credits: each grant with what is left of it now, and the money balance now and projected at period end. */
export const creditsSchema = z.object({
  currency: z.string(),
  balance: z.string(),
  periodEnd: z.string().optional(),
  projectedBalance: z.string().optional(),
  /** Per meter, what is left of its active unit grants. */
  units: z.record(z.string(), z.string()),
  grants: z.array(grantStandingSchema),
  prepaid: creditStandingSchema.optional(),
  asOf: z.string(),
});

/** GET /v1/invoices: newest first, a page at a time. */
export const invoiceListSchema = z.object({ invoices: z.array(invoiceSummarySchema), cursor: z.string().optional() });

/** GET /v1/pricing: the plan in force, the subscription's terms and the period running now (none outside the subscription). */
export const pricingSchema = z.object({
  plan: planSchema,
  subscription: z.object({
    startedAt: z.string(),
    anchor: z.string(),
    interval: z.string(),
    trialEnd: z.string().optional(),
    cancelAt: z.string().optional(),
    taxRate: z.string(),
    /** The IANA zone its periods and days follow now. */
    timeZone: z.string(),
  }),
  currentPeriod: spanSchema.extend({ trial: z.boolean() }).optional(),
});

/** GET /v1/pricing/plans: the public plans, each at its version in effect. */
export const publicPlansSchema = z.object({ plans: z.array(planSchema) });

/** Tenant-scoped billing reads: the tenant always comes from the caller's key. */
export function createBillingApi(deps: BillingApiDependencies) {
  const subscriptionOf = async (tenantId: string) => {
    const sub = await deps.store.getSubscription(tenantId);
    if (!sub) throw new ClientError('NOT_FOUND', 'this tenant has no subscription');
    return sub;
  };
  const publicPlans = async () => {
    const now = deps.now();
    const current = await Promise.all((await deps.store.listPlans()).map(async (p) => versionAt(await deps.store.planVersions(p.id), now)));
    return current.filter((p) => p.public);
  };
  const invoiceOf = async (event: HttpEvent) => {
    const tenantId = requireTenant(event);
    const id = event.pathParameters?.id ?? '';
    const invoice = await deps.store.getInvoice(tenantId, id);
    if (!invoice) throw new ClientError('NOT_FOUND', `invoice ${id} does not exist`, 'id');
    return invoice;
  };
  /** The invoice as a document: the operator's and the tenant's details around it. */
  const documentOf = async (event: HttpEvent) => {
    const invoice = await invoiceOf(event);
    const [seller, customer, name] = await Promise.all([
      deps.store.getSeller(),
      deps.store.getCustomer(invoice.tenantId),
      deps.tenantName(invoice.tenantId),
    ]);
    return invoiceDocument(invoice, seller ?? unsetSeller, customer ?? { name: name ?? invoice.tenantId, address: [] });
  };
  const isLive = (sub: Subscription, now: number) => now >= Date.parse(sub.startedAt) && !hasEnded(sub, now);
  /** The period running now; NOT_FOUND once the subscription has ended. */
  const currentPeriod = (sub: Subscription, now: number) => {
    if (hasEnded(sub, now)) throw new ClientError('NOT_FOUND', `the subscription ended at ${sub.cancelAt}`);
    if (now < Date.parse(sub.startedAt)) throw new ClientError('NOT_FOUND', `the subscription starts at ${sub.startedAt}`);
    return periodAt(sub, now);
  };

  /** The tenant's credits as they stand now, with the open period's draft (invoice-drafts.ts `liveCredits`). */
  const liveCreditsOf = async (sub: Subscription, now: number) => liveCredits(deps.reads, sub, await deps.store.credits(sub.tenantId), now);

  /** A prepaid tenant's standing (./prepaid.ts); undefined for a tenant not on prepaid terms. */
  const standingOf = async (sub: Subscription | undefined, now: number) => {
    if (!sub?.prepaid) return undefined;
    const { draft, balance } = await liveCreditsOf(sub, now);
    return creditStanding(sub.prepaid, balance, draft?.lines ?? [], sub.currency);
  };

  /**
   * What the tenant has now: the plan in force at this instant (none outside the subscription's life), so a
   * plan change switches features and quotas at the moment it takes effect; the quota period; its own quotas.
   */
  const inForce = async (tenantId: string) => {
    const now = deps.now();
    const [sub, overrides, meters] = await Promise.all([
      deps.store.getSubscription(tenantId),
      deps.store.listQuotas(tenantId),
      deps.reads.meters(tenantId),
    ]);
    const live = sub && isLive(sub, now);
    const plan = live ? await requirePlan(deps.reads, planIdAt(sub, now)) : undefined;
    const since = live ? sub.plans.filter((c) => Date.parse(c.at) <= now).at(-1)!.at : '';
    const quotas = effectiveQuotas(plan?.features, overrides, since);
    const period = quotaPeriod(sub, now);
    const usageOf = async (meterKey: string) => {
      const meter = meters.find((m) => m.key === meterKey);
      return meter ? quotaUsage(deps.quotaReads, tenantId, meter, period, now) : '0';
    };
    const when = {
      period: { start: new Date(period.start).toISOString(), end: new Date(period.end).toISOString() },
      asOf: new Date(now).toISOString(),
    };
    return { sub, now, plan, quotas, overrides, period, usageOf, when };
  };

  /**
   * The tenant's quotas (all, or the one on `meter`) with their usage in the current period. A prepaid
   * tenant's answers carry its standing, and a meter its plan prices answers without a quota too: the
   * balance caps it.
   */
  const quotasOf = async (tenantId: string, meter?: string, requested?: string) => {
    const { sub, now, plan, quotas, usageOf, when } = await inForce(tenantId);
    const standing = await standingOf(sub, now);
    const chosen = quotas.filter((q) => !meter || q.meter === meter);
    if (meter && chosen.length === 0 && !(standing && plan?.prices[meter]))
      throw new ClientError('NOT_FOUND', `there is no quota on meter "${meter}"`, 'meter');
    const statuses = await Promise.all(
      chosen.length === 0 && meter
        ? [usageOf(meter).then((usage) => uncapped(meter, usage))]
        : chosen.map(async (q) => quotaStatus(q, await usageOf(q.meter), requested)),
    );
    return { ...when, statuses: standing ? statuses.map((s) => withStanding(s, standing)) : statuses, standing };
  };

  /** The plan's features as the tenant has them now (all, or `feature` alone). */
  const entitlementsOf = async (tenantId: string, feature?: string) => {
    const { sub, now, plan, overrides, period, usageOf, when } = await inForce(tenantId);
    const features = Object.entries(plan?.features ?? {})
      .filter(([key]) => !feature || key === feature)
      .sort(([a], [b]) => a.localeCompare(b));
    const standing = features.some(([, def]) => def.kind === 'metered') ? await standingOf(sub, now) : undefined;
    const entitlements = await Promise.all(
      features.map(async ([key, def]) => {
        if (def.kind !== 'metered') return entitlement(key, def);
        const override = overrides.find((q) => q.meter === def.meter);
        return entitlement(key, def, {
          usage: await usageOf(def.meter),
          period,
          ...(override ? { override } : {}),
          ...(standing ? { standing } : {}),
        });
      }),
    );
    return { ...(plan ? { planId: plan.id } : {}), ...when, entitlements };
  };

  return httpApi(
    routes({
      'GET /v1/quotas': async (event) => {
        const { statuses, standing, ...when } = await quotasOf(requireTenant(event));
        return json(200, { ...when, ...(standing ? { prepaid: standing } : {}), quotas: statuses });
      },

      /** The check a product service makes before it acts: `allowed` says whether `quantity` more fits. */
      'GET /v1/quotas/{meter}': async (event) => {
        const tenantId = requireTenant(event);
        const { quantity } = parseInput(quotaQuery, event.queryStringParameters ?? {});
        const { statuses, standing: _standing, ...when } = await quotasOf(tenantId, event.pathParameters?.meter ?? '', quantity);
        return json(200, { ...when, ...statuses[0]!, ...(quantity ? { requested: quantity } : {}) });
      },

      'GET /v1/entitlements': async (event) => json(200, await entitlementsOf(requireTenant(event))),

      /** The check a product service makes before it opens a feature: `hasAccess`. */
      'GET /v1/entitlements/{feature}': async (event) => {
        const tenantId = requireTenant(event);
        const { feature } = parseInput(featurePath, event.pathParameters ?? {});
        const { entitlements, ...when } = await entitlementsOf(tenantId, feature);
        return json(200, { ...when, ...(entitlements[0] ?? notIncluded(feature)) });
      },

      /**
       * Each grant with what is left of it now (`liveCredits`). The money balance projected at period end
       * takes off what the period's spend will grow by at the current run rate (`periodSpend`); a prepaid
       * tenant's answer carries its standing.
       */
      'GET /v1/credits': async (event) => {
        const tenantId = requireTenant(event);
        const now = deps.now();
        const sub = await subscriptionOf(tenantId);
        const { open, draft, grants, balance } = await liveCreditsOf(sub, now);
        let growth = new Dec(0);
        if (open && grants.length > 0) {
          const spend = await periodSpend(deps.reads, sub, open, now);
          growth = Dec.max(new Dec(spend.projected).minus(spend.current), 0);
        }
        const units: Record<string, string> = {};
        for (const g of grants)
          if (g.meter && g.status === 'active') units[g.meter] = new Dec(units[g.meter] ?? 0).plus(g.remaining).toFixed();
        return json(200, {
          currency: sub.currency,
          balance,
          ...(open
            ? {
                periodEnd: new Date(open.end).toISOString(),
                projectedBalance: roundMoney(Dec.max(new Dec(balance).minus(growth), 0), sub.currency),
              }
            : {}),
          units,
          grants,
          ...(sub.prepaid ? { prepaid: creditStanding(sub.prepaid, balance, draft?.lines ?? [], sub.currency) } : {}),
          asOf: new Date(now).toISOString(),
        });
      },

      'GET /v1/invoices': async (event) => {
        const tenantId = requireTenant(event);
        const q = parseInput(listQuery, event.queryStringParameters ?? {});
        const page = await deps.store.listInvoices(tenantId, q.limit, q.cursor);
        return json(200, { invoices: page.invoices.map(invoiceSummary), ...(page.cursor ? { cursor: page.cursor } : {}) });
      },

      'GET /v1/invoices/upcoming': async (event) => {
        const tenantId = requireTenant(event);
        const sub = await subscriptionOf(tenantId);
        const now = deps.now();
        const period = currentPeriod(sub, now);
        const latest = await deps.store.latestInvoice(tenantId);
        const priced = await draftInvoice(deps.reads, sub, period, latest?.billed ?? [], now);
        const draft = deductEarlier(priced, await deps.store.progressiveInvoices(tenantId, new Date(period.start).toISOString()));
        const { billed: _billed, ...shown } = draft;
        return json(200, { ...shown, status: 'draft', asOf: new Date(now).toISOString() });
      },

      'GET /v1/invoices/{id}': async (event) => json(200, await invoiceOf(event)),

      'GET /v1/invoices/{id}/html': async (event) => {
        const doc = await documentOf(event);
        return {
          statusCode: 200,
          headers: { 'content-type': 'text/html; charset=utf-8', 'content-disposition': `inline; filename="${doc.number}.html"` },
          body: renderInvoiceHtml(doc),
        };
      },

      'GET /v1/invoices/{id}/pdf': async (event) => {
        const doc = await documentOf(event);
        return {
          statusCode: 200,
          headers: { 'content-type': 'application/pdf', 'content-disposition': `attachment; filename="${doc.number}.pdf"` },
          body: (await renderInvoicePdf(doc)).toString('base64'),
          isBase64Encoded: true,
        };
      },

      'GET /v1/pricing': async (event) => {
        const tenantId = requireTenant(event);
        const sub = await subscriptionOf(tenantId);
        const now = deps.now();
        const plan = await requirePlan(deps.reads, planIdAt(sub, now));
        const period = hasEnded(sub, now) || now < Date.parse(sub.startedAt) ? undefined : periodAt(sub, now);
        return json(200, {
          plan,
          subscription: {
            startedAt: sub.startedAt,
            anchor: sub.anchor,
            interval: sub.interval,
            ...(sub.trialEnd ? { trialEnd: sub.trialEnd } : {}),
            ...(sub.cancelAt ? { cancelAt: sub.cancelAt } : {}),
            taxRate: sub.taxRate,
            timeZone: timeZoneAt(sub, now),
          },
          ...(period
            ? {
                currentPeriod: {
                  start: new Date(period.start).toISOString(),
                  end: new Date(period.end).toISOString(),
                  trial: period.trial,
                },
              }
            : {}),
        });
      },

      /** The public plans, each at its version in effect: what a tenant may simulate its usage on. */
      'GET /v1/pricing/plans': async (event) => {
        requireTenant(event);
        return json(200, { plans: await publicPlans() });
      },

      /** "What would I have paid on Professional?": the caller's last invoiced periods re-priced on a public plan. */
      'GET /v1/pricing/simulate': async (event) => {
        const tenantId = requireTenant(event);
        const q = parseInput(pricingSimulationQuery, event.queryStringParameters ?? {});
        const versions = await deps.store.planVersions(q.plan);
        const plan = versions.length > 0 ? versionAt(versions, deps.now()) : undefined;
        if (!plan?.public) throw new ClientError('NOT_FOUND', `${q.plan} is not a public plan`, 'plan');
        const sub = await subscriptionOf(tenantId);
        const { invoices } = await deps.store.listInvoices(tenantId, q.periods);
        return json(200, await simulate(deps.reads, sub, plan, invoices));
      },

      'GET /v1/analytics': async (event) => {
        const tenantId = requireTenant(event);
        const sub = await subscriptionOf(tenantId);
        const now = deps.now();
        return json(200, await usageAnalytics(deps.reads, tenantId, sub, currentPeriod(sub, now), now));
      },
    }),
  );
}
