import { performance } from 'node:perf_hooks';
import { startLocalStack } from '../local/stack.js';
import { invoiceKey } from '../shared/billing/adapters/invoiced.js';
import type { FleetSimulationJob } from '../shared/billing/fleet-simulation-job.js';
import { simulateFleet } from '../shared/billing/fleet-simulations.js';
import { draftInvoice } from '../shared/billing/invoice-drafts.js';
import type { Invoice } from '../shared/billing/invoices.js';
import { type Plan, seedPlans } from '../shared/billing/plans.js';
import type { BillingReads } from '../shared/billing/ports.js';
import { newSubscription, periodAt, type Subscription } from '../shared/billing/subscriptions.js';
import { chunk, mapLimit } from '../shared/kernel/batching.js';
import { sumMoney } from '../shared/kernel/money.js';
import { periodKey, tiles } from '../shared/kernel/periods.js';
import { counterPartition, counterSort } from '../shared/metering/aggregation.js';
import { seedMeters } from '../shared/metering/seed-meters.js';
import { documentClient } from '../shared/platform/dynamo/client.js';
import { DynamoTenantDirectory } from '../shared/tenancy/adapters/tenant-directory.js';
import { issueApiKey } from '../shared/tenancy/api-keys.js';
import { printTable } from './report.js';

/**
 * `npm run bench -- simulation`: the fleet simulation, 10,000 tenants on the seed tiers, each with three invoiced months
 * drafted beforehand from generated counters, re-priced on a changed Professional; twice:
 *
 * - in process, the counters an in-memory map: the pricing and the fleet's sums alone;
 * - as the job runs: the tenants, meters, subscriptions, invoices and counters written to the local stack's DynamoDB
 *   Local, the job started through `POST /v1/admin/simulations` and run by the simulation worker (its counter reads
 *   batched), timed from the request to the job's end.
 *
 * The stored fleet's subscriptions start on the 1st, so each period is one month counter per meter: an anchored period
 * reads about 30 day counters per meter instead (the in-process fleet anchors tenants on every day of the month).
 */
export async function simulation() {
  const TENANTS = 10_000;
  const PERIODS = 3;
  const start = Date.UTC(2026, 0, 1);
  const professional = seedPlans.find((p) => p.id === 'professional')!;
  const candidate: Plan = {
    ...professional,
    version: 2,
    baseFee: '899.00',
    prices: { ...professional.prices, api_calls: { model: 'quota', included: '8000', unitPrice: '0.09' } },
  };
  const counters = new Map<string, string>();
  const reads: BillingReads = {
    plan: async (ref) => seedPlans.find((p) => p.id === ref),
    meters: async () => seedMeters,
    quantity: async (tenant, meter, period) => counters.get(`${tenant}|${meter.key}|${period.start}`) ?? '0',
  };
  const tiers = ['starter', 'professional', 'enterprise'];
  const prepared = performance.now();
  const tenants: { sub: Subscription; invoices: Invoice[] }[] = [];
  for (let i = 0; i < TENANTS; i++) {
    const tenantId = `bench-${i}`;
    const startAt = start + (i % 28) * 86_400_000;
    const sub = newSubscription({ tenantId, planId: tiers[i % 3]!, interval: 'month', currency: 'USD', startAt, now: startAt });
    const invoices: Invoice[] = [];
    let at = startAt;
    for (let k = 0; k < PERIODS; k++) {
      const period = periodAt(sub, at);
      counters.set(`${tenantId}|estimates|${period.start}`, String((i * 7 + k * 13) % 400));
      counters.set(`${tenantId}|api_calls|${period.start}`, String((i * 997 + k * 3001) % 20_000));
      counters.set(`${tenantId}|seats|${period.start}`, String((i + k) % 25));
      const draft = await draftInvoice(reads, sub, period, []);
      invoices.unshift({ ...draft, id: `${i}-${k}`, number: `${i}-${k}`, status: 'open', issuedAt: '', statusHistory: [] });
      at = period.end;
    }
    tenants.push({ sub, invoices });
  }
  const preparing = performance.now() - prepared;
  const t = performance.now();
  const fleet = await simulateFleet(reads, candidate, tenants);
  const seconds = (performance.now() - t) / 1000;
  const stored = await throughTheStore(TENANTS, PERIODS, candidate, tiers);
  printTable('Fleet simulation, in process (npm run bench -- simulation)', [
    {
      tenants: fleet.tenants,
      periods: TENANTS * PERIODS,
      seconds: Number(seconds.toFixed(2)),
      'periods/s': Math.round((TENANTS * PERIODS) / seconds),
      'tenants/s': Math.round(TENANTS / seconds),
      'drafting the invoices, s': Number((preparing / 1000).toFixed(2)),
      'revenue before': sumMoney(
        fleet.revenue.map((r) => r.issued),
        'USD',
      ),
      after: sumMoney(
        fleet.revenue.map((r) => r.simulated),
        'USD',
      ),
    },
  ]);
  printTable('Fleet simulation, as the job on DynamoDB Local (month-anchored periods)', [
    {
      tenants: stored.tenants,
      periods: stored.tenants * PERIODS,
      seconds: Number(stored.seconds.toFixed(2)),
      'periods/s': Math.round((stored.tenants * PERIODS) / stored.seconds),
      'tenants/s': Math.round(stored.tenants / stored.seconds),
      'writing the fleet, s': Number(stored.seeded.toFixed(2)),
      items: stored.items,
      'revenue before': stored.issued,
      after: stored.simulated,
    },
  ]);
}

/** The same fleet, month-anchored, written to DynamoDB Local and simulated by the job. */
async function throughTheStore(count: number, periods: number, candidate: Plan, tiers: string[]) {
  const stack = await startLocalStack();
  try {
    const db = documentClient(stack.dynamo);
    const write = async (table: string, items: Record<string, unknown>[]) =>
      mapLimit(chunk(items, 25), 4, async (batch) => {
        let pending: unknown[] | undefined = batch.map((Item) => ({ PutRequest: { Item } }));
        while (pending && pending.length > 0) {
          const r = await db.batchWrite({ RequestItems: { [table]: pending as never } });
          pending = r.UnprocessedItems?.[table];
        }
      });
    const meters = seedMeters.filter((m) => ['estimates', 'api_calls', 'seats'].includes(m.key));
    const counters = new Map<string, string>();
    const reads: BillingReads = {
      plan: async (ref) => seedPlans.find((p) => p.id === ref),
      meters: async () => meters,
      quantity: async (tenant, meter, period) => counters.get(`${tenant}|${meter.key}|${period.start}`) ?? '0',
    };
    const first = Date.UTC(2026, 0, 1);
    const seeding = performance.now();
    const tenantItems: Record<string, unknown>[] = [];
    const billingItems: Record<string, unknown>[] = [];
    const counterItems: Record<string, unknown>[] = [];
    for (let i = 0; i < count; i++) {
      const tenantId = `bench-${String(i).padStart(5, '0')}`;
      tenantItems.push({
        pk: `TENANT#${tenantId}`,
        sk: 'PROFILE',
        gsi1pk: 'TENANTS',
        gsi1sk: tenantId,
        id: tenantId,
        name: tenantId,
        createdAt: '2025-12-01T00:00:00.000Z',
      });
      for (const m of meters) tenantItems.push({ pk: `TENANT#${tenantId}`, sk: `METER#${m.key}`, ...m });
      const sub = newSubscription({ tenantId, planId: tiers[i % 3]!, interval: 'month', currency: 'USD', startAt: first, now: first });
      billingItems.push({ pk: `TENANT#${tenantId}`, sk: 'SUBSCRIPTION', gsi1pk: 'SUBSCRIPTIONS', gsi1sk: tenantId, ...sub, version: 1 });
      let at = first;
      for (let k = 0; k < periods; k++) {
        const period = periodAt(sub, at);
        const usage = { estimates: (i * 7 + k * 13) % 400, api_calls: (i * 997 + k * 3001) % 20_000, seats: (i + k) % 25 };
        for (const [meter, value] of Object.entries(usage)) {
          counters.set(`${tenantId}|${meter}|${period.start}`, String(value));
          if (value === 0) continue;
          const tile = tiles(period)[0]!;
          const ref = { tenantId, meter, granularity: tile.granularity, groupKey: '', period: periodKey(tile.granularity, tile.start) };
          counterItems.push({ pk: counterPartition(ref), sk: counterSort(ref), ...ref, value, events: value });
        }
        const draft = await draftInvoice(reads, sub, period, []);
        const number = `INV-${i}-${k}`;
        const issuedAt = new Date(period.end).toISOString();
        billingItems.push({
          ...invoiceKey(tenantId, draft.periodStart),
          ...draft,
          id: number,
          number,
          status: 'open',
          issuedAt,
          statusHistory: [],
        });
        at = period.end;
      }
    }
    await write(stack.env.TENANTS_TABLE!, tenantItems);
    await write(stack.env.BILLING_TABLE!, billingItems);
    await write(stack.env.COUNTERS_TABLE!, counterItems);
    const seeded = (performance.now() - seeding) / 1000;

    const directory = new DynamoTenantDirectory(db, stack.env.TENANTS_TABLE!);
    const admin = (await issueApiKey(directory, { admin: true }, 'bench', Date.now())).token;
    const started = performance.now();
    const res = await fetch(`${stack.apiUrl}/v1/admin/simulations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ definition: { ...candidate, id: undefined, version: undefined }, periods }),
    });
    const { jobId } = (await res.json()) as FleetSimulationJob;
    let job: FleetSimulationJob;
    for (;;) {
      await stack.runSchedule('simulation-worker');
      job = (await (
        await fetch(`${stack.apiUrl}/v1/admin/simulations/${jobId}`, { headers: { authorization: `Bearer ${admin}` } })
      ).json()) as FleetSimulationJob;
      if (job.status === 'succeeded' || job.status === 'failed') break;
    }
    const seconds = (performance.now() - started) / 1000;
    if (job.status !== 'succeeded') throw new Error(`the job ${job.status}: ${job.error}`);
    return {
      seconds,
      seeded,
      items: tenantItems.length + billingItems.length + counterItems.length,
      tenants: job.progress.tenants,
      issued: sumMoney(
        job.result!.revenue.map((r) => r.issued),
        'USD',
      ),
      simulated: sumMoney(
        job.result!.revenue.map((r) => r.simulated),
        'USD',
      ),
    };
  } finally {
    await stack.stop();
  }
}
