import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type FleetSimulationJob, runFleetSimulation, type SimulationPage } from '../../shared/billing/fleet-simulation-job.js';
import type { FleetTenant } from '../../shared/billing/fleet-simulations.js';
import type { BillingReads, FleetReads, FleetSimulationJobs } from '../../shared/billing/ports.js';
import { sumMoney } from '../../shared/kernel/money.js';
import { candidate, fleetOf, onCandidate, tenantArb } from './fleet-world.js';

const LEASE = 60_000;

/** A run that dies: nothing it does after this is stored. */
class Crash extends Error {}

/** Jobs in memory, as the DynamoDB adapter keeps them; `crashAtSave` kills the run that makes that save. */
class MemoryJobs implements FleetSimulationJobs {
  readonly jobs = new Map<string, FleetSimulationJob>();
  readonly stored = new Map<string, SimulationPage>();
  saves = 0;
  private dead = new Set<string>();
  constructor(private readonly crashAtSave?: number) {}

  async create(job: FleetSimulationJob) {
    this.jobs.set(job.jobId, structuredClone(job));
  }
  async get(jobId: string) {
    return structuredClone(this.jobs.get(jobId));
  }
  async claim(now: number, leaseMs: number) {
    for (const job of this.jobs.values()) {
      const open = job.status === 'queued' || (job.status === 'running' && (job.leaseUntil ?? 0) < now);
      if (!open) continue;
      Object.assign(job, { status: 'running', owner: randomUUID(), leaseUntil: now + leaseMs, attempts: job.attempts + 1 });
      return structuredClone(job);
    }
    return undefined;
  }
  async save(job: FleetSimulationJob) {
    if (this.dead.has(job.owner!)) return false;
    if (++this.saves === this.crashAtSave) {
      this.dead.add(job.owner!);
      throw new Crash();
    }
    if (this.jobs.get(job.jobId)?.owner !== job.owner) return false;
    this.jobs.set(job.jobId, structuredClone(job));
    return true;
  }
  async putPage(jobId: string, page: SimulationPage) {
    const key = `${jobId}#${page.index}`;
    if (!this.stored.has(key)) this.stored.set(key, structuredClone(page));
    return structuredClone(this.stored.get(key)!);
  }
  async *pages(jobId: string, from = 0, limit = Number.POSITIVE_INFINITY) {
    for (let i = from; i < from + limit && this.stored.has(`${jobId}#${i}`); i++) yield structuredClone(this.stored.get(`${jobId}#${i}`)!);
  }
}

/** The fleet in tenant order, three subscriptions a page. */
function fleetReads(tenants: FleetTenant[], reads: BillingReads): FleetReads {
  const sorted = () => [...tenants].sort((a, b) => (a.sub.tenantId < b.sub.tenantId ? -1 : 1));
  return {
    countSubscriptions: async () => tenants.length,
    subscriptionPage: async (after) => {
      const rest = sorted().filter((t) => after === undefined || t.sub.tenantId > after);
      const page = rest.slice(0, 3);
      return { subscriptions: page.map((t) => t.sub), ...(rest.length > 3 ? { next: page.at(-1)!.sub.tenantId } : {}) };
    },
    load: async (subs) => ({ tenants: subs.map((s) => tenants.find((t) => t.sub.tenantId === s.tenantId)!), reads }),
  };
}

const queued = (): FleetSimulationJob => ({
  jobId: 'job-1',
  status: 'queued',
  candidate,
  periods: 3,
  createdAt: '2026-04-01T00:00:00.000Z',
  attempts: 0,
  progress: { subscriptions: 0, pages: 0, tenants: 0, skipped: 0 },
});

/** Claims and runs the job until it finishes, each run dying where the store says, the next claiming after the lease. */
async function runToEnd(jobs: MemoryJobs, fleet: FleetReads) {
  await jobs.create(queued());
  let now = 0;
  for (let run = 0; run < 10; run++) {
    const job = await jobs.claim(now, LEASE);
    if (!job) break;
    try {
      await runFleetSimulation(job, { jobs, fleet, now: () => now, hasTime: () => true });
    } catch (error) {
      if (!(error instanceof Crash)) throw error;
    }
    now += LEASE + 1;
  }
  return (await jobs.get('job-1'))!;
}

describe('a fleet simulation job', () => {
  it('totals what pricing each tenant one by one gives, counting each tenant once whatever run dies (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(tenantArb, { minLength: 1, maxLength: 10 }), fc.nat(8), async (generated, crashAt) => {
        const { reads, tenants } = await fleetOf(generated);
        const jobs = new MemoryJobs(crashAt === 0 ? undefined : crashAt);
        const job = await runToEnd(jobs, fleetReads(tenants, reads));

        expect(job.status).toBe('succeeded');
        const counted = [...jobs.stored.values()].flatMap((p) => p.outcomes.map((o) => o.tenantId));
        expect(counted.toSorted()).toEqual(tenants.map((t) => t.sub.tenantId).toSorted());
        expect(job.progress).toMatchObject({ subscriptions: tenants.length, tenants: tenants.length, skipped: 0 });
        const issued = sumMoney(
          tenants.flatMap((t) => t.invoices.map((i) => i.subtotal)),
          'USD',
        );
        const simulated = sumMoney(await Promise.all(tenants.map((t) => onCandidate(reads, t.sub, t.invoices))), 'USD');
        const revenue = job.result!.revenue;
        expect(
          sumMoney(
            revenue.map((r) => r.issued),
            'USD',
          ),
        ).toBe(issued);
        expect(
          sumMoney(
            revenue.map((r) => r.simulated),
            'USD',
          ),
        ).toBe(simulated);
      }),
      { numRuns: 20 },
    );
  });

  it('goes on from the page a dead run recorded, even when a tenant was added inside that page meanwhile', async () => {
    const { reads, tenants } = await fleetOf(
      Array.from({ length: 7 }, (_, i) => ({
        plan: 'starter' as const,
        startDay: i,
        usage: [[i, 100 * i, 1]] as [number, number, number][],
      })),
    );
    // Save 1 starts the job, save 2 moves past page 0: the run dies there, with page 0 (t-0, t-1, t-2) recorded.
    const jobs = new MemoryJobs(2);
    const fleet = fleetReads(tenants, reads);
    const late = { ...tenants[0]!, sub: { ...tenants[0]!.sub, tenantId: 't-00' } };
    const subscriptionPage = fleet.subscriptionPage;
    let calls = 0;
    // After the crash, t-00 sorts into page 0: re-reading page 0 now would end at t-1 and count t-2 again.
    fleet.subscriptionPage = async (after, limit) => {
      if (++calls === 2) tenants.push(late);
      return subscriptionPage(after, limit);
    };
    const job = await runToEnd(jobs, fleet);
    const counted = [...jobs.stored.values()].flatMap((p) => p.outcomes.map((o) => o.tenantId));
    expect(counted).toEqual(['t-0', 't-1', 't-2', 't-3', 't-4', 't-5', 't-6']);
    expect(job).toMatchObject({ status: 'succeeded', attempts: 0, progress: { pages: 3, tenants: 7 } });
  });

  it('leaves a job it has no time for to the next run, and fails one no run gets a page of', async () => {
    const { reads, tenants } = await fleetOf([{ plan: 'starter', startDay: 0, usage: [[1, 1, 1]] }]);
    const jobs = new MemoryJobs();
    await jobs.create(queued());
    const fleet = fleetReads(tenants, reads);
    const paused = await runFleetSimulation((await jobs.claim(0, LEASE))!, { jobs, fleet, now: () => 0, hasTime: () => false });
    expect(paused).toMatchObject({ status: 'running', leaseUntil: 0 });
    // The next run claims it at once: the lease was given back.
    const next = (await jobs.claim(1, LEASE))!;
    expect(next.jobId).toBe('job-1');

    const broken: FleetReads = { ...fleet, load: async () => new Promise(() => {}) };
    const stuck = { ...next, attempts: 4 };
    expect(await runFleetSimulation(stuck, { jobs, fleet: broken, now: () => 2, hasTime: () => true })).toMatchObject({
      status: 'failed',
      error: expect.stringContaining('3 runs'),
    });
  });
});
