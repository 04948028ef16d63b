import type { LeasedJob } from '../kernel/leased-jobs.js';
import { type Granularity, toIso } from '../kernel/periods.js';
import { counterKey, countersOf } from './aggregation.js';
import type { Aggregation, Meter } from './meters.js';
import type { RecomputeJobs, RecomputeStore } from './ports.js';
import {
  CORRECTION_COMMIT_BOUND_MS,
  CounterRebuild,
  compareCounters,
  correctedCounters,
  type Drift,
  emptyProgress,
  ledgerRange,
  type RecomputeProgress,
  type RecomputeScope,
  repairOf,
} from './recompute.js';

/** A recompute job as stored and as the status route shows it. */
export interface RecomputeJob extends LeasedJob {
  tenantId: string;
  meter?: string;
  /** Counters whose period starts in [from, to), ISO 8601. */
  from: string;
  to: string;
  repair: boolean;
  /** Runs that claimed it; a run that dies (a timeout) leaves it to the next once its lease ends. */
  attempts: number;
  progress: RecomputeProgress;
  /** What the job could not compare, and why. */
  limits: string[];
  /** The drifts found, each with its repair's outcome (the first MAX_REPORTED_DRIFTS; the counts are complete). */
  drifts: DriftReport[];
}

export interface DriftReport {
  meter: string;
  granularity: Granularity;
  period: string;
  group: string;
  aggregation: Aggregation;
  expected: { value?: string; events: number; latestAt?: string };
  actual: { value?: string; events: number; latestAt?: string };
  missingMarkers?: string[];
  extraMarkers?: string[];
  repair?: 'repaired' | 'conflict';
}

/** Keeps a job item well under DynamoDB's 400 KB. */
export const MAX_REPORTED_DRIFTS = 500;
/** Runs a job may take before it is failed: a job that cannot finish inside one function run must be narrowed. */
export const MAX_ATTEMPTS = 3;
/** How often progress is written while the ledger is read. */
const PROGRESS_EVERY_MS = 1_000;

export interface RecomputeRunDependencies {
  store: RecomputeStore;
  jobs: RecomputeJobs;
  meters(tenantId: string): Promise<Meter[]>;
  now(): number;
}

export function scopeOf(job: RecomputeJob): RecomputeScope {
  return { tenantId: job.tenantId, ...(job.meter ? { meter: job.meter } : {}), from: Date.parse(job.from), to: Date.parse(job.to) };
}

/**
 * Runs one claimed job: the live counters, the ledger, the live counters again; the comparison; the repairs when
 * asked for. Progress is saved as it goes. A job that claimed too many runs is failed instead.
 */
export async function runRecompute(job: RecomputeJob, deps: RecomputeRunDependencies): Promise<RecomputeJob> {
  const save = async () => {
    if (!(await deps.jobs.save(job))) throw new LostClaim();
  };
  try {
    if (job.attempts > MAX_ATTEMPTS) {
      throw new Error(
        `the job did not finish in ${MAX_ATTEMPTS} runs of the worker (15 minutes each): start it again for one meter or a shorter range`,
      );
    }
    job.status = 'running';
    job.startedAt = toIso(deps.now());
    job.progress = emptyProgress();
    job.drifts = [];
    const scope = scopeOf(job);
    const meters = (await deps.meters(job.tenantId)).filter((m) => !job.meter || m.key === job.meter);
    const aggregations = new Map(meters.map((m) => [m.key, m.aggregation]));
    const keys = meters.map((m) => m.key);

    job.progress.phase = 'reading counters';
    await save();
    // Corrections committing while the job runs were stamped at most this long before they committed.
    const correctionsSince = toIso(deps.now() - CORRECTION_COMMIT_BOUND_MS);
    const before = await deps.store.counters(scope, keys);

    job.progress.phase = 'reading ledger';
    await save();
    const rebuild = new CounterRebuild(scope);
    const touched = new Set<string>();
    const range = ledgerRange(scope);
    let saved = deps.now();
    await deps.store.scanLedger(
      {
        tenantId: job.tenantId,
        ...(job.meter ? { meter: job.meter } : {}),
        from: toIso(range.from),
        to: toIso(range.to),
        correctionsSince,
      },
      async (page) => {
        job.progress.itemsScanned += page.scanned;
        for (const entry of page.entries) if (rebuild.add(entry)) job.progress.eventsRead += 1;
        for (const c of page.corrections) for (const key of correctedCounters(c.before, c.after)) touched.add(key);
        // Claimed but not folded yet: its fold will move those counters, so they cannot be compared now.
        for (const e of page.unfolded) for (const ref of countersOf(e)) touched.add(counterKey(ref));
        if (deps.now() - saved >= PROGRESS_EVERY_MS) {
          saved = deps.now();
          await save();
        }
      },
    );

    job.progress.phase = 'comparing';
    await save();
    const after = await deps.store.counters(scope, keys);
    const comparison = compareCounters(rebuild.expected(), before, after, touched, (meter) => aggregations.get(meter));
    job.progress.countersCompared = comparison.compared;
    job.progress.countersChanging = comparison.changing.length;
    job.progress.driftsFound = comparison.drifts.length;
    const reports = comparison.drifts.map(report);
    job.drifts = reports.slice(0, MAX_REPORTED_DRIFTS);

    if (job.repair && comparison.drifts.length > 0) {
      job.progress.phase = 'repairing';
      await save();
      for (const [i, drift] of comparison.drifts.entries()) {
        const outcome = await deps.store.repair(drift, repairOf(drift));
        reports[i]!.repair = outcome;
        if (outcome === 'repaired') job.progress.driftsRepaired += 1;
        else job.progress.repairConflicts += 1;
      }
    }
    job.progress.phase = 'done';
    job.status = 'succeeded';
  } catch (error) {
    if (error instanceof LostClaim) return job;
    job.status = 'failed';
    job.error = error instanceof Error ? error.message : String(error);
  }
  job.finishedAt = toIso(deps.now());
  delete job.leaseUntil;
  await deps.jobs.save(job);
  return job;
}

/** Another run claimed the job (this one's lease ran out): this run stops without writing. */
class LostClaim extends Error {}

function report(d: Drift): DriftReport {
  const state = (s: Drift['expected']) => ({
    ...(s.value !== undefined ? { value: s.value } : {}),
    events: s.events,
    ...(s.latestAt !== undefined ? { latestAt: s.latestAt } : {}),
  });
  return {
    meter: d.ref.meter,
    granularity: d.ref.granularity,
    period: d.ref.period,
    group: d.ref.groupKey,
    aggregation: d.aggregation,
    expected: state(d.expected),
    actual: state(d.actual),
    ...(d.missingMarkers?.length ? { missingMarkers: d.missingMarkers.slice(0, 20) } : {}),
    ...(d.extraMarkers?.length ? { extraMarkers: d.extraMarkers.slice(0, 20) } : {}),
  };
}
