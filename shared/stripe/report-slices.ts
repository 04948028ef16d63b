import * as z from 'zod';
import type { Log } from '../kernel/log.js';
import type { TenantDirectory } from '../tenancy/ports.js';
import type { ReportQueue } from './ports.js';

/**
 * The daily report fans out: the scheduled run (the planner) lists the tenants page by page and sends
 * one message per slice of them onto the report queue; report workers take one slice each and report
 * it (./usage-report.ts). Every message carries the run's scheduled time, so "yesterday" is the
 * schedule's on every worker whenever it runs, and the report's exactly-once machinery (pending record
 * before each send, one deterministic identifier per tenant × meter × day) makes a redelivered, retried
 * or overlapping slice send nothing twice. A small deployment takes the same path with one slice.
 *
 * Sizing (docs/scale.md, "Tenants per Stripe report run"): Stripe takes 1,000 v1 meter events per second
 * per account in live mode; the clients pace 900/s in all (shared/stripe/adapters/environment.ts), shared
 * by the workers that may run at once, so each worker paces 900 / REPORT_WORKERS = 180 events/s. A slice of
 * 1,000 tenants × 5 meters is 5,000 events, about 28 s at that pace: a tenth of the worker's 300 s timeout,
 * room for late corrections (a delta event per changed day) and the onboarding of new tenants (a customer
 * and a subscription each, at 90 / REPORT_WORKERS = 18 other calls/s).
 */
export const REPORT_SLICE_TENANTS = 1_000;

/** Report workers at once (the event source mapping's maximum concurrency): together they stay inside Stripe's rate. */
export const REPORT_WORKERS = 5;

/** A worker's share of the account's client pace (requests per second): each of the REPORT_WORKERS paces itself. */
export function workerPace(pace: { meterEventsPerSecond: number; requestsPerSecond: number }) {
  return { meterEventsPerSecond: pace.meterEventsPerSecond / REPORT_WORKERS, requestsPerSecond: pace.requestsPerSecond / REPORT_WORKERS };
}

/** One message on the report queue. */
export const reportSliceSchema = z.strictObject({
  /** The planner run that cut it: slices of one run are recorded under it. */
  runId: z.string().min(1),
  /** The run's scheduled time (ISO 8601): the report's "now". */
  scheduledAt: z.iso.datetime(),
  /** Its position in the run, from 0. */
  slice: z.number().int().nonnegative(),
  tenantIds: z.array(z.string().min(1)).min(1).max(REPORT_SLICE_TENANTS),
});
export type ReportSlice = z.infer<typeof reportSliceSchema>;

/** Cuts tenant ids, as they come page by page, into slices of `size`: every id in exactly one slice, only the last one shorter. */
export async function* sliceTenants(pages: AsyncIterable<readonly string[]>, size = REPORT_SLICE_TENANTS): AsyncGenerator<string[]> {
  let slice: string[] = [];
  for await (const page of pages) {
    for (const id of page) {
      slice.push(id);
      if (slice.length === size) {
        yield slice;
        slice = [];
      }
    }
  }
  if (slice.length > 0) yield slice;
}

export interface ReportPlanDependencies {
  tenants: Pick<TenantDirectory, 'tenantPages'>;
  queue: ReportQueue;
  log: Log;
  sliceSize?: number;
}

/** What the planner did: the slices it sent, for the run id under which the workers record them. */
export interface ReportPlan {
  runId: string;
  scheduledAt: string;
  tenants: number;
  slices: number;
}

/**
 * Sends the run's slices as the tenant pages come, so the planner holds one page and one slice at a time
 * whatever the number of tenants. A failure stops the run (the schedule's retry sends every slice again,
 * which the report tolerates); slices already sent are reported meanwhile.
 */
export async function planReport(deps: ReportPlanDependencies, run: { runId: string; now: number }): Promise<ReportPlan> {
  const scheduledAt = new Date(run.now).toISOString();
  const plan: ReportPlan = { runId: run.runId, scheduledAt, tenants: 0, slices: 0 };
  const ids = async function* () {
    for await (const page of deps.tenants.tenantPages()) yield page.map((t) => t.id);
  };
  for await (const tenantIds of sliceTenants(ids(), deps.sliceSize)) {
    await deps.queue.send({ runId: run.runId, scheduledAt, slice: plan.slices, tenantIds });
    plan.slices += 1;
    plan.tenants += tenantIds.length;
  }
  deps.log.info('usage report planned', { ...plan });
  return plan;
}
