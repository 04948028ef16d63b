import { randomUUID } from 'node:crypto';
import * as z from 'zod';
import { grantBalance, grantRequestSchema, newGrant, voidGrant } from '../../shared/billing/credits.js';
import type { FleetSimulationJob, FleetSimulationJobView } from '../../shared/billing/fleet-simulation-job.js';
import { FLEET_CSV_HEADER, fleetCsvRows } from '../../shared/billing/fleet-simulations.js';
import { invoiceStatusChanged, invoiceStatuses, invoiceSummary } from '../../shared/billing/invoices.js';
import { partySchema, sellerSchema, unsetSeller } from '../../shared/billing/parties.js';
import { ALL_TENANTS, type BillingPause, pauseRequestSchema } from '../../shared/billing/pauses.js';
import {
  isMigrated,
  migrationInstant,
  migrationRequestSchema,
  nextVersion,
  refFor,
  sameDefinition,
  versionAt,
  versionRequestSchema,
} from '../../shared/billing/plan-versions.js';
import { type Plan, planDefinitionSchema, planIdSchema, refOf, versionOf } from '../../shared/billing/plans.js';
import type { BillingReads, BillingStore, FleetSimulationJobs, ReissueStore } from '../../shared/billing/ports.js';
import { type Quota, quotaDefinitionSchema } from '../../shared/billing/quotas.js';
import { reissueInvoice } from '../../shared/billing/reissue.js';
import { CANDIDATE_ID, simulate, simulationRequestSchema } from '../../shared/billing/simulations.js';
import {
  changeSubscription,
  hasEnded,
  newSubscription,
  planIdAt,
  type Subscription,
  subscriptionRequestSchema,
} from '../../shared/billing/subscriptions.js';
import type { DomainEvent } from '../../shared/events/domain-events.js';
import { ClientError } from '../../shared/kernel/errors.js';
import { withoutLease } from '../../shared/kernel/leased-jobs.js';
import { type Meter, meterKeySchema } from '../../shared/metering/meters.js';
import { type HttpEvent, httpApi, json, jsonBody, parseInput, query, routes } from '../../shared/platform/http.js';
import { requireAdmin, requireAdminTenant } from '../../shared/tenancy/access.js';

export interface BillingAdminDependencies {
  store: ReissueStore &
    Pick<
      BillingStore,
      | 'getPlan'
      | 'listPlans'
      | 'planVersions'
      | 'publishPlan'
      | 'getSubscription'
      | 'subscriptionPages'
      | 'putSubscription'
      | 'latestInvoice'
      | 'listInvoices'
      | 'setInvoiceStatus'
      | 'listQuotas'
      | 'putQuota'
      | 'deleteQuota'
      | 'listPauses'
      | 'pause'
      | 'resume'
      | 'getSeller'
      | 'putSeller'
      | 'getCustomer'
      | 'putCustomer'
      | 'putCreditGrant'
    >;
  /** What pricing reads, for reissued invoices and simulations. */
  reads: BillingReads;
  /** Fleet simulations, run by the simulation worker. */
  simulations: Pick<FleetSimulationJobs, 'create' | 'get' | 'pages'>;
  newId(): string;
  tenantExists(tenantId: string): Promise<boolean>;
  /** Announces invoice status changes (`invoice.status_changed`). */
  publish(event: DomainEvent): Promise<void>;
  /** Gives a new subscription its default alert rules (80% and 100% of each included quota), leaving existing rules alone. */
  defaultAlerts(tenantId: string, plan: Plan): Promise<void>;
  meters(tenantId: string): Promise<Meter[]>;
  now(): number;
}

/** Pages of a fleet simulation per CSV part: 4,000 tenants, under Lambda's 6 MB response at 12 periods each. */
export const CSV_PAGES_PER_PART = 40;

/** The job as the status route shows it: the claim's bookkeeping stays inside. */
function simulationView(job: FleetSimulationJob): FleetSimulationJobView {
  const { after: _after, ...view } = withoutLease(job);
  return job.status === 'succeeded' ? { ...view, csvParts: csvParts(job) } : view;
}

const csvParts = (job: FleetSimulationJob) => Math.max(1, Math.ceil(job.progress.pages / CSV_PAGES_PER_PART));

const jobIdSchema = z.uuid();

export const csvPartQuery = z.coerce.number().int().min(1).default(1);

export const statusRequest = z.strictObject({
  status: z.enum(invoiceStatuses.filter((s) => s !== 'draft') as ['open', 'paid', 'void', 'uncollectible']),
});

/** Plans, subscriptions, quotas, invoice statuses and billing pauses, for admin keys only. */
export function createBillingAdminApi(deps: BillingAdminDependencies) {
  const tenantOf = (event: HttpEvent) => requireAdminTenant(event, event.pathParameters?.tenantId, deps.tenantExists);
  /** Every version of the plan, first to latest. */
  const versionsOf = async (planId: string) => {
    const versions = await deps.store.planVersions(planId);
    if (versions.length === 0) throw new ClientError('NOT_FOUND', `plan ${planId} does not exist`, 'planId');
    return versions;
  };
  const planOf = async (event: HttpEvent) => parseInput(planIdSchema, event.pathParameters?.planId, 'planId');
  const simulationOf = async (event: HttpEvent) => {
    const jobId = parseInput(jobIdSchema, event.pathParameters?.jobId, 'jobId');
    const job = await deps.simulations.get(jobId);
    if (!job) throw new ClientError('NOT_FOUND', `no fleet simulation "${jobId}"`, 'jobId');
    return job;
  };
  /** Publishes the next version; a concurrent publish of the same number is a conflict to retry. */
  const publish = async (versions: Plan[], req: z.infer<typeof versionRequestSchema>) => {
    const { effectiveAt, ...definition } = req;
    const now = deps.now();
    const version = nextVersion(versions, definition, effectiveAt ? Date.parse(effectiveAt) : now, now);
    if (!(await deps.store.publishPlan(version)))
      throw new ClientError(
        'CONFLICT',
        `version ${versionOf(version)} of plan ${version.id} was published meanwhile; read it and try again`,
      );
    return version;
  };

  const pause = async (scope: string, event: HttpEvent) => {
    const { reason } = parseInput(pauseRequestSchema, jsonBody(event));
    const paused: BillingPause = { scope, reason, pausedAt: new Date(deps.now()).toISOString() };
    if (!(await deps.store.pause(paused)))
      throw new ClientError(
        'CONFLICT',
        `billing is already paused for ${scope === ALL_TENANTS ? 'all tenants' : `tenant ${scope}`}`,
        'scope',
      );
    return json(201, paused);
  };
  const resume = async (scope: string) => {
    const lifted = await deps.store.resume(scope);
    if (!lifted)
      throw new ClientError('NOT_FOUND', `billing is not paused for ${scope === ALL_TENANTS ? 'all tenants' : `tenant ${scope}`}`, 'scope');
    return json(200, { ...lifted, resumedAt: new Date(deps.now()).toISOString() });
  };

  return httpApi(
    routes({
      'GET /v1/admin/billing/pauses': async (event) => {
        requireAdmin(event);
        return json(200, { pauses: await deps.store.listPauses() });
      },
      'PUT /v1/admin/billing/pause': async (event) => {
        requireAdmin(event);
        return pause(ALL_TENANTS, event);
      },
      'DELETE /v1/admin/billing/pause': async (event) => {
        requireAdmin(event);
        return resume(ALL_TENANTS);
      },
      'PUT /v1/admin/tenants/{tenantId}/billing/pause': async (event) => pause(await tenantOf(event), event),
      'DELETE /v1/admin/tenants/{tenantId}/billing/pause': async (event) => resume(await tenantOf(event)),

      /** Each plan as new subscriptions take it now: its version in effect. */
      'GET /v1/admin/plans': async (event) => {
        requireAdmin(event);
        const now = deps.now();
        const plans = await Promise.all(
          (await deps.store.listPlans()).map(async (p) => versionAt(await deps.store.planVersions(p.id), now)),
        );
        return json(200, { plans });
      },

      'GET /v1/admin/plans/{planId}': async (event) => {
        requireAdmin(event);
        return json(200, versionAt(await versionsOf(await planOf(event)), deps.now()));
      },

      /**
       * Creates a plan (its first version); on an existing plan, publishes its definition as the next version in
       * effect now, or answers the latest version when the definition is the same (a repeated PUT publishes nothing).
       */
      'PUT /v1/admin/plans/{planId}': async (event) => {
        requireAdmin(event);
        const id = await planOf(event);
        const definition = parseInput(planDefinitionSchema, jsonBody(event));
        const versions = await deps.store.planVersions(id);
        if (versions.length > 0) {
          const latest = versions.at(-1)!;
          return sameDefinition(latest, definition) ? json(200, latest) : json(200, await publish(versions, definition));
        }
        const plan: Plan = { id, ...definition };
        if (!(await deps.store.publishPlan(plan)))
          throw new ClientError('CONFLICT', `plan ${id} was created meanwhile; read it and try again`);
        return json(200, plan);
      },

      'GET /v1/admin/plans/{planId}/versions': async (event) => {
        requireAdmin(event);
        const versions = await versionsOf(await planOf(event));
        return json(200, { current: versionOf(versionAt(versions, deps.now())), versions });
      },

      'POST /v1/admin/plans/{planId}/versions': async (event) => {
        requireAdmin(event);
        const versions = await versionsOf(await planOf(event));
        return json(201, await publish(versions, parseInput(versionRequestSchema, jsonBody(event))));
      },

      /**
       * Moves the chosen subscriptions to a version, each by a plan change at its next period boundary (or the instant
       * given), prorated as every plan change is. A subscription the change cannot apply to is listed as skipped.
       */
      'POST /v1/admin/plans/{planId}/migrations': async (event) => {
        requireAdmin(event);
        const versions = await versionsOf(await planOf(event));
        const req = parseInput(migrationRequestSchema, jsonBody(event));
        const target = req.version === undefined ? versions.at(-1)! : versions.find((v) => versionOf(v) === req.version);
        if (!target) throw new ClientError('NOT_FOUND', `plan ${versions[0]!.id} has no version ${req.version}`, 'version');
        const now = deps.now();
        const migrated: { tenantId: string; from: string; to: string; effectiveAt: string }[] = [];
        const skipped: { tenantId: string; reason: string }[] = [];
        for await (const page of deps.store.subscriptionPages()) {
          for (const sub of page) {
            const listed = req.tenants?.includes(sub.tenantId);
            if (req.tenants && !listed) continue;
            const at = hasEnded(sub, now) ? undefined : migrationInstant(sub, target, req.at, now);
            if (at === undefined || !isMigrated(sub, target, req, at)) {
              if (listed)
                skipped.push({ tenantId: sub.tenantId, reason: `not on another version of plan ${target.id} that the request chooses` });
              continue;
            }
            const latest = await deps.store.latestInvoice(sub.tenantId);
            try {
              const next = changeSubscription(
                sub,
                { planId: refOf(target), effectiveAt: new Date(at).toISOString() },
                { now, notBefore: latest ? Date.parse(latest.periodEnd) : Date.parse(sub.startedAt), plan: target },
              );
              if (!(await deps.store.putSubscription(next))) throw new ClientError('CONFLICT', 'the subscription changed meanwhile');
              migrated.push({
                tenantId: sub.tenantId,
                from: planIdAt(sub, at),
                to: refOf(target),
                effectiveAt: new Date(at).toISOString(),
              });
            } catch (error) {
              if (!(error instanceof ClientError)) throw error;
              skipped.push({ tenantId: sub.tenantId, reason: error.message });
            }
          }
        }
        const seen = new Set([...migrated, ...skipped].map((m) => m.tenantId));
        for (const tenantId of req.tenants ?? []) if (!seen.has(tenantId)) skipped.push({ tenantId, reason: 'no subscription' });
        return json(200, { plan: target.id, version: versionOf(target), migrated, skipped });
      },

      /**
       * A tenant's last invoiced periods re-priced on a candidate plan, beside what was invoiced, answered at once
       * (shared/billing/simulations.ts); without a tenant, the whole fleet's as a job, answered 202.
       */
      'POST /v1/admin/simulations': async (event) => {
        requireAdmin(event);
        const req = parseInput(simulationRequestSchema, jsonBody(event));
        let candidate: Plan;
        if (req.definition) candidate = { id: CANDIDATE_ID, ...req.definition };
        else {
          const versions = await versionsOf(req.planId!);
          const chosen = req.version === undefined ? versionAt(versions, deps.now()) : versions.find((v) => versionOf(v) === req.version);
          if (!chosen) throw new ClientError('NOT_FOUND', `plan ${req.planId} has no version ${req.version}`, 'version');
          candidate = chosen;
        }
        if (req.tenantId === undefined) {
          const job: FleetSimulationJob = {
            jobId: deps.newId(),
            status: 'queued',
            candidate,
            periods: req.periods,
            createdAt: new Date(deps.now()).toISOString(),
            attempts: 0,
            progress: { subscriptions: 0, pages: 0, tenants: 0, skipped: 0 },
          };
          await deps.simulations.create(job);
          return json(202, simulationView(job));
        }
        const tenantId = await requireAdminTenant(event, req.tenantId, deps.tenantExists);
        const sub = await deps.store.getSubscription(tenantId);
        if (!sub) throw new ClientError('NOT_FOUND', `tenant ${tenantId} has no subscription`, 'tenantId');
        const { invoices } = await deps.store.listInvoices(tenantId, req.periods);
        return json(200, await simulate(deps.reads, sub, candidate, invoices));
      },

      /** A fleet simulation's status and progress, and when done its summary and how many CSV parts it has. */
      'GET /v1/admin/simulations/{jobId}': async (event) => {
        requireAdmin(event);
        return json(200, simulationView(await simulationOf(event)));
      },

      /** One part of a finished fleet simulation's CSV: a row per tenant and period, each part with the header row. */
      'GET /v1/admin/simulations/{jobId}/csv': async (event) => {
        requireAdmin(event);
        const job = await simulationOf(event);
        if (job.status !== 'succeeded')
          throw new ClientError('CONFLICT', `simulation ${job.jobId} is ${job.status}: its CSV is there once it succeeded`, 'jobId');
        const part = parseInput(csvPartQuery, query(event, 'part'), 'part');
        const parts = csvParts(job);
        if (part > parts) throw new ClientError('NOT_FOUND', `simulation ${job.jobId} has ${parts} CSV part(s)`, 'part');
        let body = FLEET_CSV_HEADER;
        for await (const page of deps.simulations.pages(job.jobId, (part - 1) * CSV_PAGES_PER_PART, CSV_PAGES_PER_PART))
          body += fleetCsvRows(page.outcomes, job.candidate.currency);
        const name = parts === 1 ? `simulation-${job.jobId}.csv` : `simulation-${job.jobId}-${part}-of-${parts}.csv`;
        return {
          statusCode: 200,
          headers: { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': `attachment; filename="${name}"` },
          body,
        };
      },

      'GET /v1/admin/tenants/{tenantId}/subscription': async (event) => {
        const tenantId = await tenantOf(event);
        const sub = await deps.store.getSubscription(tenantId);
        if (!sub) throw new ClientError('NOT_FOUND', `tenant ${tenantId} has no subscription`, 'tenantId');
        return json(200, sub);
      },

      /** Creates the subscription, or changes its plan, cancellation, tax rate or time zone; every change lands in its history. */
      'PUT /v1/admin/tenants/{tenantId}/subscription': async (event) => {
        const tenantId = await tenantOf(event);
        const req = parseInput(subscriptionRequestSchema, jsonBody(event));
        const now = deps.now();
        const current = await deps.store.getSubscription(tenantId);
        let next: Subscription;
        if (!current) {
          if (!req.planId) throw new ClientError('INVALID_REQUEST', 'planId is required to create a subscription', 'planId');
          if (req.effectiveAt || req.cancelAtPeriodEnd !== undefined)
            throw new ClientError(
              'INVALID_REQUEST',
              'effectiveAt and cancelAtPeriodEnd apply to an existing subscription',
              req.effectiveAt ? 'effectiveAt' : 'cancelAtPeriodEnd',
            );
          const start = req.startAt ? Date.parse(req.startAt) : now;
          const plan = versionAt(await versionsOf(req.planId), start);
          next = newSubscription({
            tenantId,
            planId: refOf(plan),
            interval: plan.interval,
            currency: plan.currency,
            startAt: start,
            ...(req.trialDays ? { trialDays: req.trialDays } : {}),
            ...(req.taxRate ? { taxRate: req.taxRate } : {}),
            ...(req.prepaid ? { prepaid: req.prepaid } : {}),
            ...(req.commitment ? { commitment: req.commitment } : {}),
            ...(req.thresholds ? { thresholds: req.thresholds } : {}),
            ...(req.timeZone ? { timeZone: req.timeZone } : {}),
            now,
          });
        } else {
          const at = req.effectiveAt ? Date.parse(req.effectiveAt) : now;
          const ref = req.planId ? refFor(current, await versionsOf(req.planId), at) : undefined;
          const plan = ref ? await deps.store.getPlan(ref) : undefined;
          const latest = await deps.store.latestInvoice(tenantId);
          next = changeSubscription(
            current,
            { ...req, ...(ref ? { planId: ref } : {}) },
            {
              now,
              notBefore: latest ? Date.parse(latest.periodEnd) : Date.parse(current.startedAt),
              ...(plan ? { plan } : {}),
            },
          );
        }
        if (!(await deps.store.putSubscription(next)))
          throw new ClientError('CONFLICT', 'the subscription changed meanwhile; read it and try again');
        if (!current) {
          const plan = await deps.store.getPlan(next.plans[0]!.planId);
          if (plan) await deps.defaultAlerts(tenantId, plan);
        }
        return json(current ? 200 : 201, { ...next, version: next.version + 1 });
      },

      /** The operator's details and payment terms on every invoice document. */
      'GET /v1/admin/billing/seller': async (event) => {
        requireAdmin(event);
        return json(200, (await deps.store.getSeller()) ?? unsetSeller);
      },

      'PUT /v1/admin/billing/seller': async (event) => {
        requireAdmin(event);
        const seller = parseInput(sellerSchema, jsonBody(event));
        await deps.store.putSeller(seller);
        return json(200, seller);
      },

      /** The tenant's name, address and tax id as its invoices show them. */
      'GET /v1/admin/tenants/{tenantId}/billing-details': async (event) => {
        const tenantId = await tenantOf(event);
        const customer = await deps.store.getCustomer(tenantId);
        if (!customer)
          throw new ClientError('NOT_FOUND', `tenant ${tenantId} has no billing details; its invoices show its name only`, 'tenantId');
        return json(200, customer);
      },

      'PUT /v1/admin/tenants/{tenantId}/billing-details': async (event) => {
        const tenantId = await tenantOf(event);
        const customer = parseInput(partySchema, jsonBody(event));
        await deps.store.putCustomer(tenantId, customer);
        return json(200, customer);
      },

      'GET /v1/admin/tenants/{tenantId}/credits': async (event) => {
        const { grants, entries } = await deps.store.credits(await tenantOf(event));
        const now = deps.now();
        return json(200, { grants: grants.map((g) => grantBalance(g, entries, now)), entries });
      },

      /** A grant in the subscription's currency, or in units of one of the tenant's meters. */
      'POST /v1/admin/tenants/{tenantId}/credits': async (event) => {
        const tenantId = await tenantOf(event);
        const req = parseInput(grantRequestSchema, jsonBody(event));
        if (req.meter && !(await deps.meters(tenantId)).some((m) => m.key === req.meter))
          throw new ClientError('NOT_FOUND', `meter "${req.meter}" is not defined for tenant ${tenantId}`, 'meter');
        const sub = await deps.store.getSubscription(tenantId);
        if (!sub) throw new ClientError('CONFLICT', `tenant ${tenantId} has no subscription: a grant is in its plan's currency or meters`);
        const { grant, entry } = newGrant(tenantId, req, {
          id: `g_${randomUUID().replaceAll('-', '')}`,
          now: deps.now(),
          currency: sub.currency,
        });
        await deps.store.putCreditGrant(grant, entry);
        return json(201, grantBalance(grant, [entry], deps.now()));
      },

      'POST /v1/admin/tenants/{tenantId}/credits/{grantId}/void': async (event) => {
        const tenantId = await tenantOf(event);
        const { grants, entries } = await deps.store.credits(tenantId);
        const grant = grants.find((g) => g.id === event.pathParameters?.grantId);
        if (!grant) throw new ClientError('NOT_FOUND', `grant ${event.pathParameters?.grantId} does not exist`, 'grantId');
        const entry = voidGrant(grant, entries, deps.now());
        await deps.store.appendCreditEntries([entry]);
        return json(200, grantBalance(grant, [...entries, entry], deps.now()));
      },

      'GET /v1/admin/tenants/{tenantId}/quotas': async (event) => json(200, { quotas: await deps.store.listQuotas(await tenantOf(event)) }),

      'PUT /v1/admin/tenants/{tenantId}/quotas/{meter}': async (event) => {
        const tenantId = await tenantOf(event);
        const meter = parseInput(meterKeySchema, event.pathParameters?.meter, 'meter');
        if (!(await deps.meters(tenantId)).some((m) => m.key === meter))
          throw new ClientError('NOT_FOUND', `meter "${meter}" is not defined for tenant ${tenantId}`, 'meter');
        const quota: Quota = {
          meter,
          ...parseInput(quotaDefinitionSchema, jsonBody(event)),
          updatedAt: new Date(deps.now()).toISOString(),
        };
        await deps.store.putQuota(tenantId, quota);
        return json(200, quota);
      },

      'DELETE /v1/admin/tenants/{tenantId}/quotas/{meter}': async (event) => {
        const tenantId = await tenantOf(event);
        const meter = parseInput(meterKeySchema, event.pathParameters?.meter, 'meter');
        if (!(await deps.store.deleteQuota(tenantId, meter)))
          throw new ClientError('NOT_FOUND', `tenant ${tenantId} has no quota on meter "${meter}"`, 'meter');
        return { statusCode: 204 };
      },

      'GET /v1/admin/tenants/{tenantId}/invoices': async (event) => {
        const tenantId = await tenantOf(event);
        const page = await deps.store.listInvoices(tenantId, 100, event.queryStringParameters?.cursor);
        return json(200, { invoices: page.invoices.map(invoiceSummary), ...(page.cursor ? { cursor: page.cursor } : {}) });
      },

      'POST /v1/admin/tenants/{tenantId}/invoices/{id}/status': async (event) => {
        const tenantId = await tenantOf(event);
        const { status } = parseInput(statusRequest, jsonBody(event));
        const id = event.pathParameters?.id ?? '';
        const invoice = await deps.store.setInvoiceStatus(tenantId, id, status, new Date(deps.now()).toISOString());
        if (!invoice) throw new ClientError('NOT_FOUND', `invoice ${id} does not exist`, 'id');
        await deps.publish(invoiceStatusChanged(invoice, invoice.statusHistory.at(-2)!.status, 'admin'));
        return json(200, invoice);
      },

      'POST /v1/admin/tenants/{tenantId}/invoices/{id}/reissue': async (event) => {
        const tenantId = await tenantOf(event);
        return json(201, await reissueInvoice(deps.store, deps.reads, tenantId, event.pathParameters?.id ?? '', deps.now()));
      },
    }),
  );
}
