import './quiet.js';
import { performance } from 'node:perf_hooks';
import { startStripeEmulator } from '../local/stripe-emulator/server.js';
import { Dec } from '../shared/kernel/decimal.js';
import { periodKey } from '../shared/kernel/periods.js';
import type { CounterRow } from '../shared/metering/ports.js';
import { seedMeters } from '../shared/metering/seed-meters.js';
import { logger } from '../shared/platform/observability.js';
import { stripeClient } from '../shared/stripe/adapters/client.js';
import { stripePace } from '../shared/stripe/adapters/environment.js';
import { StripeUsageReporter } from '../shared/stripe/adapters/usage-reporter.js';
import { meterReporting, type PendingEvent, type ReportRecord } from '../shared/stripe/meter-reporting.js';
import type { ReportStore } from '../shared/stripe/ports.js';
import { planReport, REPORT_WORKERS, type ReportSlice, reportSliceSchema, workerPace } from '../shared/stripe/report-slices.js';
import { type ReportSummary, reportSlice, summarizeRun, type UsageReportDependencies } from '../shared/stripe/usage-report.js';

/**
 * `npx tsx bench/stripe-report.ts [tenants]`: the daily report for 10,000 tenants × 5 meters against the
 * local Stripe emulator with Stripe's live-mode rate limits on (1,000 meter events/s, 100 other calls/s),
 * through the real job code, the real stripe-node client and its pacing, fanned out as in AWS: the planner
 * cuts the tenants into slices, REPORT_WORKERS workers take them from a queue, each with its own client at
 * its share of the pace (each Lambda container has its own). Counters, report records and the queue live in
 * memory, so the figure is the Stripe side: DynamoDB reads and writes are measured elsewhere.
 * Prints onboarding (one customer per tenant, once), the first daily run, a rerun, events/s and calls per tenant per day.
 */
const tenantCount = Number(process.argv[2] ?? 10_000);
const meters = seedMeters.filter((m) => ['orders', 'invoices', 'api_calls', 'storage_gb', 'seats'].includes(m.key));
const now = Date.parse(`${periodKey('day', Date.now())}T01:00:00Z`);
const yesterday = periodKey('day', now - 86_400_000);

const emulator = await startStripeEmulator({ rateLimit: { meterEventsPerSecond: 1_000, requestsPerSecond: 100 } });
const stripe = stripeClient({ secretKey: emulator.apiKey, apiBase: emulator.url });
const reporter = new StripeUsageReporter(async () => stripe, stripePace({}));

const tenants = Array.from({ length: tenantCount }, (_, i) => ({
  id: `tenant-${i}`,
  name: `Tenant ${i}`,
  createdAt: new Date(now).toISOString(),
}));
const customers = new Map<string, string>();
const records = new Map<string, Map<string, Map<string, ReportRecord>>>();
const recordsOf = (tenantId: string, meter: string) => {
  const byMeter = records.get(tenantId) ?? new Map<string, Map<string, ReportRecord>>();
  records.set(tenantId, byMeter);
  const byDay = byMeter.get(meter) ?? new Map<string, ReportRecord>();
  byMeter.set(meter, byDay);
  return byDay;
};
const store: ReportStore = {
  customerOf: async (t) => customers.get(t),
  saveCustomer: async (t, c) => void customers.set(t, c),
  reportRecords: async (t) => new Map([...(records.get(t) ?? new Map()).entries()].map(([m, days]) => [m, new Map(days)])),
  putPending: async (t, m, day, event: PendingEvent) => (
    recordsOf(t, m).set(day, { ...recordsOf(t, m).get(day), day, pending: event }), true
  ),
  commitPending: async (t, m, day, event) => void recordsOf(t, m).set(day, { day, reported: event.after }),
  flag: async (t, m, day, target) => void recordsOf(t, m).set(day, { ...recordsOf(t, m).get(day), day, flagged: target }),
  // No subscriptions here (see billing), so no Stripe subscription to link.
  subscriptionLink: async () => undefined,
  saveSubscriptionLink: async () => true,
  recordRun: async () => undefined,
  recordSlice: async () => undefined,
};
const usage: UsageReportDependencies['usage'] = {
  series: async (_t, meter, granularity): Promise<CounterRow[]> => [
    { period: granularity === 'day' ? yesterday : yesterday.slice(0, 7), value: meter === 'storage_gb' ? '12.5' : '42', events: 42 },
  ],
};
// No subscriptions, so calendar-month periods. Billed quantities as Meterline's billing reads would give them for
// one day of usage: a 12.5 GB reading at the start of yesterday, carried forward (GB-months so far), and 42 distinct seats.
const yesterdayStart = Date.parse(`${yesterday}T00:00:00Z`);
const billing: UsageReportDependencies['billing'] = {
  subscription: async () => undefined,
  plan: async () => undefined,
  pauses: async () => [],
  quantity: async (_t, meter, period, asOf) => {
    if (asOf <= yesterdayStart) return '0';
    if (meter.key !== 'storage_gb') return '42';
    const held = Math.min(asOf, period.end) - Math.max(yesterdayStart, period.start);
    return new Dec('12.5')
      .times(held)
      .div(period.end - period.start)
      .toDecimalPlaces(6)
      .toFixed();
  },
};
const byId = new Map(tenants.map((t) => [t.id, t]));
// One per worker container: its own Stripe client pace, as each Lambda container has.
const workers: UsageReportDependencies[] = Array.from({ length: REPORT_WORKERS }, () => ({
  tenants: { getTenant: async (id) => byId.get(id), listMeters: async () => meters },
  usage,
  billing,
  store,
  reporter: new StripeUsageReporter(async () => stripe, workerPace(stripePace({}))),
  publish: async () => undefined,
  log: logger,
}));

/** The planner onto an in-memory queue (messages as JSON, as on SQS), then the workers, each taking the next slice. */
const reportRun = async (): Promise<ReportSummary & { slices: number }> => {
  const queue: string[] = [];
  const plan = await planReport(
    {
      tenants: {
        tenantPages: async function* () {
          for (let i = 0; i < tenants.length; i += 1_000) yield tenants.slice(i, i + 1_000);
        },
      },
      queue: { send: async (slice: ReportSlice) => void queue.push(JSON.stringify(slice)) },
      log: logger,
    },
    { runId: `bench-${Date.now()}`, now },
  );
  const results: ReportSummary[] = [];
  await Promise.all(
    workers.map(async (deps) => {
      for (let body = queue.shift(); body !== undefined; body = queue.shift()) {
        results.push(await reportSlice(deps, reportSliceSchema.parse(JSON.parse(body))));
      }
    }),
  );
  return { slices: plan.slices, ...summarizeRun(results) };
};

const timed = async <T>(label: string, run: () => Promise<T>): Promise<T & { seconds: number }> => {
  const calls = emulator.calls().length;
  const start = performance.now();
  const result = await run();
  const seconds = (performance.now() - start) / 1000;
  const made = emulator.calls().slice(calls);
  const limited = made.filter((c) => c.status === 429).length;
  console.log(
    `${label.padEnd(34)} ${seconds.toFixed(1).padStart(7)} s   ${String(made.length).padStart(7)} Stripe calls (${limited} answered 429)   ${(made.length / tenantCount).toFixed(2)} calls/tenant`,
  );
  return { ...result, seconds };
};

console.log(
  `Stripe report: ${tenantCount} tenants × ${meters.length} meters, emulator rate limit 1,000 meter events/s + 100 calls/s, ${REPORT_WORKERS} workers each paced at ${JSON.stringify(workerPace(stripePace({})))}\n`,
);
await timed('onboarding (customers, meters)', async () => {
  await Promise.all(meters.map((m) => reporter.ensureMeter(meterReporting(m))));
  for (let i = 0; i < tenants.length; i += 64) {
    await Promise.all(tenants.slice(i, i + 64).map(async (t) => store.saveCustomer(t.id, await reporter.createCustomer(t))));
  }
});
const first = await timed('daily report (one day of usage)', reportRun);
const again = await timed('rerun of the same day', reportRun);
if (first.errors.length) console.log('first errors:', JSON.stringify(first.errors.slice(0, 3)));
console.log(
  `\nfirst run: ${first.slices} slices, sent ${first.sent}, skipped ${first.skipped}, failed ${first.failed}; rerun: sent ${again.sent}, skipped ${again.skipped}, failed ${again.failed}`,
);
console.log(`daily report: ${(first.sent / first.seconds).toFixed(0)} meter events/s`);
console.log(`meter events stored by the emulator: ${emulator.meterEvents().length} (expected ${tenantCount * meters.length})`);
await emulator.stop();
