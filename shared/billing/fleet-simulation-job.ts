import * as z from 'zod';
import type { LeasedJob } from '../kernel/leased-jobs.js';
import { FleetAccumulator, type FleetSimulation, type QuotaCrossing, simulateTenant, type TenantOutcome } from './fleet-simulations.js';
import { type Plan, planSchema } from './plans.js';
import type { FleetReads, FleetSimulationJobs } from './ports.js';

/**
 * A fleet simulation as a job (as recompute runs): `POST /v1/admin/simulations` without a tenant stores it queued, and
 * a scheduled worker claims it under a lease and prices the subscriptions a page at a time. Each page's outcomes are
 * stored as an item of their own, keyed by the page's number, before the job moves past it; a run that dies leaves the
 * job to the next once the lease ends, which starts again at the first page not recorded, so a tenant is counted once
 * whatever crashes. When the last page is in, the pages are folded into the kept summary; the per-tenant rows stay in
 * the pages, out of the job item (DynamoDB's 400 KB), and are read back for the CSV.
 */

/** Subscriptions priced per page: a page item stays near 100 KB even at 12 periods a tenant. */
export const SIMULATION_PAGE_SIZE = 100;
/** Crossings the kept summary lists (`crossingsTotal` counts them all). */
export const MAX_LISTED_CROSSINGS = 100;
/** Claims in a row without a page recorded before the job is failed: a page that cannot be priced in a run. */
export const MAX_STALLED_RUNS = 3;

/** What the fleet simulation keeps: the figures without the per-tenant rows (those are the CSV). */
export type FleetSummary = Omit<FleetSimulation, 'changes' | 'crossings'> & { crossings: QuotaCrossing[]; crossingsTotal: number };

export interface FleetSimulationJob extends LeasedJob {
  /** The candidate as it was when the job was started (a version may be superseded meanwhile). */
  candidate: Plan;
  periods: number;
  /** Claims since the last page was recorded. */
  attempts: number;
  progress: {
    /** Subscriptions when the job started (the fleet may grow meanwhile: new ones are priced if their page is ahead). */
    subscriptions: number;
    pages: number;
    tenants: number;
    skipped: number;
  };
  /** Where the next page starts: after this tenant (absent: from the first). */
  after?: string;
  result?: FleetSummary;
}

const tenantChangeSchema = z.object({
  tenantId: z.string(),
  issued: z.string(),
  simulated: z.string(),
  difference: z.string(),
  percent: z.string().nullable(),
});

/**
 * The job as `POST /v1/admin/simulations` (without a tenant) and `GET /v1/admin/simulations/{jobId}` answer it: the
 * claim's bookkeeping (owner, lease, where the next page starts) stays inside; `csvParts` once it succeeded.
 */
export const fleetSimulationJobSchema = z.object({
  jobId: z.string(),
  status: z.enum(['queued', 'running', 'succeeded', 'failed']),
  candidate: planSchema,
  periods: z.int(),
  createdAt: z.string(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  attempts: z.int(),
  progress: z.object({ subscriptions: z.int(), pages: z.int(), tenants: z.int(), skipped: z.int() }),
  result: z
    .object({
      currency: z.string(),
      tenants: z.int(),
      skipped: z.int(),
      revenue: z.array(
        z.object({ period: z.string(), tenants: z.int(), issued: z.string(), simulated: z.string(), difference: z.string() }),
      ),
      distribution: z.object({
        more: z.int(),
        less: z.int(),
        same: z.int(),
        percentiles: z.object({ p10: z.string(), p25: z.string(), p50: z.string(), p75: z.string(), p90: z.string() }),
      }),
      largestIncreases: z.array(tenantChangeSchema),
      largestDecreases: z.array(tenantChangeSchema),
      crossings: z.array(
        z.object({
          tenantId: z.string(),
          meter: z.string(),
          periodStart: z.string(),
          quantity: z.string(),
          included: z.string(),
          threshold: z.number(),
        }),
      ),
      crossingsTotal: z.int(),
    })
    .optional(),
  error: z.string().optional(),
  /** How many parts the CSV has (GET /v1/admin/simulations/{jobId}/csv?part=N), once the job succeeded. */
  csvParts: z.int().optional(),
});
export type FleetSimulationJobView = z.input<typeof fleetSimulationJobSchema>;

/** One page of a job's outcomes, as stored. */
export interface SimulationPage {
  index: number;
  outcomes: TenantOutcome[];
  /** Tenants of the page left out (another currency or interval than the candidate). */
  skipped: number;
  /** The last tenant of the page, where the next one starts; absent on the last page. */
  next?: string;
}

export interface FleetSimulationRun {
  jobs: FleetSimulationJobs;
  fleet: FleetReads;
  now(): number;
  /** Whether the run has time for another page. */
  hasTime(): boolean;
}

export function summaryOf(result: FleetSimulation): FleetSummary {
  const { changes: _changes, crossings, ...rest } = result;
  return { ...rest, crossings: crossings.slice(0, MAX_LISTED_CROSSINGS), crossingsTotal: crossings.length };
}

/** Another run claimed the job (this one's lease ran out): this run stops without writing. */
class LostClaim extends Error {}

/**
 * Runs a claimed job page by page while the run has time; leaves it running (its lease released) when time runs out,
 * for the next run to go on with.
 */
export async function runFleetSimulation(job: FleetSimulationJob, deps: FleetSimulationRun): Promise<FleetSimulationJob> {
  const save = async () => {
    if (!(await deps.jobs.save(job))) throw new LostClaim();
  };
  try {
    if (job.attempts > MAX_STALLED_RUNS)
      throw new Error(`no page of the job was priced in ${MAX_STALLED_RUNS} runs of the worker: see the worker's log`);
    if (!job.startedAt) {
      job.startedAt = new Date(deps.now()).toISOString();
      job.progress.subscriptions = await deps.fleet.countSubscriptions();
      await save();
    }
    for (;;) {
      if (!deps.hasTime()) {
        // The next run may take it at once.
        job.leaseUntil = 0;
        await save();
        return job;
      }
      const page = await deps.fleet.subscriptionPage(job.after, SIMULATION_PAGE_SIZE);
      const { tenants, reads } = await deps.fleet.load(page.subscriptions, job.periods);
      const outcomes: TenantOutcome[] = [];
      let skipped = 0;
      for (const tenant of tenants) {
        const outcome = await simulateTenant(reads, job.candidate, tenant);
        if (outcome) outcomes.push(outcome);
        else skipped++;
      }
      // A page recorded by a run that died before moving past it stands as recorded: its tenants are not priced twice.
      const stored = await deps.jobs.putPage(job.jobId, {
        index: job.progress.pages,
        outcomes,
        skipped,
        ...(page.next ? { next: page.next } : {}),
      });
      job.progress.pages++;
      job.progress.tenants += stored.outcomes.length;
      job.progress.skipped += stored.skipped;
      job.attempts = 0;
      if (!stored.next) break;
      job.after = stored.next;
      await save();
    }
    const fleet = new FleetAccumulator(job.candidate.currency);
    for await (const page of deps.jobs.pages(job.jobId)) {
      for (const outcome of page.outcomes) fleet.add(outcome);
      fleet.skip(page.skipped);
    }
    job.result = summaryOf(fleet.result());
    job.status = 'succeeded';
  } catch (error) {
    if (error instanceof LostClaim) return job;
    job.status = 'failed';
    job.error = error instanceof Error ? error.message : String(error);
  }
  job.finishedAt = new Date(deps.now()).toISOString();
  delete job.leaseUntil;
  await deps.jobs.save(job);
  return job;
}
