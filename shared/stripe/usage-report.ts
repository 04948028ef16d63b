import { type BillingPause, billingPaused } from '../billing/pauses.js';
import type { Plan } from '../billing/plans.js';
import type { Subscription } from '../billing/subscriptions.js';
import { type DomainEvent, domainEvent } from '../events/domain-events.js';
import { mapLimit } from '../kernel/batching.js';
import { Dec } from '../kernel/decimal.js';
import type { Log } from '../kernel/log.js';
import { type Period, periodKeyStart } from '../kernel/periods.js';
import { calendarDays } from '../kernel/zones.js';
import { isGauge, type Meter } from '../metering/meters.js';
import { dayTotals } from '../metering/period-usage.js';
import type { CounterReads, CounterSeries } from '../metering/ports.js';
import type { TenantDirectory } from '../tenancy/ports.js';
import type { Tenant } from '../tenancy/tenants.js';
import {
  type DayValue,
  meterReporting,
  type PendingEvent,
  periodToDate,
  planMeterReport,
  type ReportError,
  type ReportRecord,
  reportDays,
  reportingPeriod,
  type TenantReport,
} from './meter-reporting.js';
import type { ReportStore, UsageReporter } from './ports.js';
import { mirroredPlanId, planPriceSpecs, subscriptionSpec } from './products.js';
import type { ReportSlice } from './report-slices.js';

const DAY = 86_400_000;

export interface UsageReportDependencies {
  tenants: Pick<TenantDirectory, 'getTenant' | 'listMeters'>;
  usage: Pick<CounterSeries, 'series'>;
  /**
   * The billing side: the tenant's subscription (its billing periods) and a meter's billed quantity
   * over a period (shared/metering/period-usage.ts): MAX, UNIQUE_COUNT and LATEST meters are reported
   * as what Meterline bills over the billing period.
   */
  billing: {
    subscription(tenantId: string): Promise<Subscription | undefined>;
    /** A plan by id (stored, or a seed plan): its prices become Stripe prices. */
    plan(planId: string): Promise<Plan | undefined>;
    quantity(tenantId: string, meter: Meter, period: Period, asOf: number): Promise<string>;
    /** Billing pauses in force: a paused tenant is not reported (its days go out after the resume). */
    pauses(): Promise<BillingPause[]>;
  };
  store: ReportStore;
  reporter: UsageReporter;
  /** Tells the tenant (its endpoints, the bus) that some of its usage did not reach Stripe in this run. */
  publish(event: DomainEvent): Promise<void>;
  /** Tenants reported at once. Within a tenant, each meter's days go one after another. */
  concurrency?: number;
  log: Log;
}

export interface ReportSummary {
  tenants: number;
  /** Meter events Stripe accepted. */
  sent: number;
  /** Tenant × meter × days with usage that needed nothing (already reported, or Stripe already had the identifier). */
  skipped: number;
  /** Events, meters or tenants that could not be reported (each has an entry in `errors`). */
  failed: number;
  /** Tenants skipped because their billing is paused. */
  paused: number;
  errors: ReportError[];
}

/** A slice's summary as its worker records it, under the run and the slice's position in it. */
export interface SliceResult extends ReportSummary {
  runId: string;
  slice: number;
  scheduledAt: string;
}

/** Errors a slice result keeps (each tenant's run record keeps all of its own). */
export const SLICE_ERRORS_KEPT = 100;

/** A whole run's summary from its slices' results. */
export function summarizeRun(results: readonly ReportSummary[]): ReportSummary {
  const summary: ReportSummary = { tenants: 0, sent: 0, skipped: 0, failed: 0, paused: 0, errors: [] };
  for (const r of results) {
    summary.tenants += r.tenants;
    summary.sent += r.sent;
    summary.skipped += r.skipped;
    summary.failed += r.failed;
    summary.paused += r.paused;
    summary.errors.push(...r.errors);
  }
  return summary;
}

/**
 * The daily report of one slice of tenants (./report-slices.ts): for each tenant × meter × completed local
 * day (the tenant's zone) in Stripe's window, brings Stripe's meter in line with Meterline's day counters, one meter event
 * per day plus a delta event per later change (planned by ./meter-reporting.ts). Each event is written
 * down (pending) before it is sent and becomes the day's record after, so a crash in between resends the
 * same identifier, which Stripe refuses as a duplicate; a slice delivered again, or overlapping another,
 * finds the records and sends nothing twice. "Yesterday" comes from the slice's scheduled time, never the
 * clock. One tenant's failure is recorded and the others go on; the slice's result is recorded last.
 */
export async function reportSlice(deps: UsageReportDependencies, slice: ReportSlice): Promise<ReportSummary> {
  const now = Date.parse(slice.scheduledAt);
  const runAt = slice.scheduledAt;
  const summary: ReportSummary = { tenants: 0, sent: 0, skipped: 0, failed: 0, paused: 0, errors: [] };
  const pauses = await deps.billing.pauses();
  const reportable = slice.tenantIds.filter((id) => !billingPaused(pauses, id));
  summary.paused = slice.tenantIds.length - reportable.length;
  await mapLimit(reportable, deps.concurrency ?? 16, async (tenantId) => {
    const report: TenantReport = { tenantId, runAt, sent: [], skipped: 0, errors: [] };
    const fail = (error: Omit<ReportError, 'tenantId'>) => {
      report.errors.push({ tenantId, ...error });
      deps.log.error('usage report failed', { tenantId, ...error });
    };
    try {
      const tenant = await deps.tenants.getTenant(tenantId);
      // Deleted since the planner listed it: nothing left to report.
      if (!tenant) return;
      const customerId = (await deps.store.customerOf(tenant.id)) ?? (await createCustomer(deps, tenant));
      const meters = await deps.tenants.listMeters(tenant.id);
      const subscription = await deps.billing.subscription(tenant.id);
      // Stripe's side of the subscription first, so its prices are in place for the usage sent below;
      // a failure here is the tenant's error, and its usage is still reported (meters stand alone).
      if (subscription) {
        await syncSubscription(deps, { tenantId: tenant.id, customerId, meters, subscription, now }).catch((error: unknown) =>
          fail({ code: codeOf(error), message: `Stripe subscription: ${messageOf(error)}` }),
        );
      }
      const days = reportDays(subscription?.timeZones, now);
      // Every day from the start of the period the window opens in: a gauge's share depends on what the period's earlier days carry.
      const first = reportingPeriod(subscription, days[0]!.start);
      const known = new Map(calendarDays(subscription?.timeZones, { start: first.start, end: days.at(-1)!.end }).map((d) => [d.day, d]));
      const dayOf = (day: string): Period => known.get(day) ?? { start: periodKeyStart('day', day), end: periodKeyStart('day', day) + DAY };
      const periodOf = (day: string) => reportingPeriod(subscription, dayOf(day).start);
      const records = await deps.store.reportRecords(tenant.id, known.keys().next().value!);
      // Meters in parallel, each meter's days in order: never two calls at once for one customer × meter.
      await Promise.all(
        meters.map(async (meter) => {
          try {
            await reportMeter(deps, {
              tenantId: tenant.id,
              customerId,
              meter,
              records: records.get(meter.key) ?? new Map(),
              days,
              dayOf,
              periodOf,
              now,
              report,
              fail,
            });
          } catch (error) {
            fail({ meter: meter.key, code: codeOf(error), message: messageOf(error) });
          }
        }),
      );
    } catch (error) {
      fail({ code: codeOf(error), message: messageOf(error) });
    }
    summary.tenants += 1;
    summary.sent += report.sent.filter((s) => s.outcome === 'sent').length;
    summary.skipped += report.skipped + report.sent.filter((s) => s.outcome === 'duplicate').length;
    summary.failed += report.errors.length;
    summary.errors.push(...report.errors);
    if (report.sent.length > 0 || report.errors.length > 0) {
      await deps.store
        .recordRun(report)
        .catch((error) => deps.log.error('could not record the report run', { tenantId: tenantId, error: error as Error }));
    }
    if (report.errors.length > 0) {
      const errors = report.errors.map(({ tenantId: _t, ...e }) => e);
      await deps
        .publish(domainEvent('stripe.report_failed', tenantId, runAt, { source: 'usage_report', errors }, runAt))
        .catch((error) => deps.log.error('could not announce the failed report', { tenantId: tenantId, error: error as Error }));
    }
  });
  await deps.store.recordSlice({
    runId: slice.runId,
    slice: slice.slice,
    scheduledAt: slice.scheduledAt,
    ...summary,
    errors: summary.errors.slice(0, SLICE_ERRORS_KEPT),
  });
  return summary;
}

async function createCustomer(deps: UsageReportDependencies, tenant: Tenant): Promise<string> {
  const customerId = await deps.reporter.createCustomer(tenant);
  await deps.store.saveCustomer(tenant.id, customerId);
  return customerId;
}

/**
 * Brings the tenant's Stripe subscription in line with its Meterline subscription: the meters and the
 * prices of the plan in force (shared/stripe/products.ts), then the subscription, whose link is kept in
 * the `stripe` table. A second run with nothing changed makes no write.
 */
async function syncSubscription(
  deps: UsageReportDependencies,
  o: { tenantId: string; customerId: string; meters: Meter[]; subscription: Subscription; now: number },
): Promise<void> {
  const planId = mirroredPlanId(o.subscription, o.now);
  if (planId === undefined) return;
  const plan = await deps.billing.plan(planId);
  if (!plan) throw new Error(`plan ${planId} does not exist`);
  const specs = planPriceSpecs(plan, o.meters);
  const priced = o.meters.filter((m) => plan.prices[m.key]).map(meterReporting);
  const meterIds = new Map(await Promise.all(priced.map(async (r) => [r.eventName, await deps.reporter.ensureMeter(r)] as const)));
  const priceIds = await deps.reporter.ensurePrices(plan, specs, meterIds);
  const link = await deps.store.subscriptionLink(o.tenantId);
  const next = await deps.reporter.ensureSubscription(o.customerId, subscriptionSpec(o.subscription, specs, o.now)!, priceIds, link);
  if (next && !(await deps.store.saveSubscriptionLink(o.tenantId, next))) {
    throw Object.assign(new Error('another run changed the Stripe subscription link meanwhile; the next run reconciles it'), {
      code: 'CONCURRENT_RUN',
    });
  }
}

interface MeterRun {
  tenantId: string;
  customerId: string;
  meter: Meter;
  records: Map<string, ReportRecord>;
  /** The completed local days in the window, oldest first. */
  days: (Period & { day: string })[];
  dayOf(day: string): Period;
  periodOf(day: string): Period;
  now: number;
  report: TenantReport;
  fail(error: Omit<ReportError, 'tenantId'>): void;
}

async function reportMeter(deps: UsageReportDependencies, run: MeterRun): Promise<void> {
  const { tenantId, meter, records } = run;
  await deps.reporter.ensureMeter(meterReporting(meter));

  // A run that stopped between sending and recording left its event pending: send exactly that again first.
  for (const record of records.values()) {
    if (record.pending) {
      await send(deps, run, record.day, record.pending);
      records.set(record.day, { day: record.day, reported: record.pending.after });
    }
  }

  const series: CounterReads['values'] = (...a) => deps.usage.series(...a);
  const usage = (await dayTotals(series, tenantId, meter, run.days)).filter((u) => u.events > 0);
  const days = periodToDate(meter.aggregation)
    ? await periodToDateDays(
        deps,
        run,
        usage.map((u) => u.day),
      )
    : usage.map((u) => ({ day: u.day, span: run.dayOf(u.day), value: u.value, period: run.periodOf(u.day) }));
  const steps = planMeterReport({ tenantId, meter, days, records, now: run.now, dayStart: (day) => run.dayOf(day).start });
  for (const step of steps) {
    switch (step.kind) {
      case 'skip':
        run.report.skipped += 1;
        break;
      case 'flag':
        run.fail({ meter: meter.key, day: step.day, code: step.code, message: step.message });
        await deps.store.flag(tenantId, meter.key, step.day, step.target);
        break;
      case 'send': {
        try {
          const previous = records.get(step.day)?.reported?.sequence;
          if (!(await deps.store.putPending(tenantId, meter.key, step.day, step.event, previous))) {
            run.fail({
              meter: meter.key,
              day: step.day,
              code: 'CONCURRENT_RUN',
              message: 'another report run changed this day meanwhile; the next run reconciles it',
            });
            break;
          }
          await send(deps, run, step.day, step.event);
        } catch (error) {
          run.fail({ meter: meter.key, day: step.day, code: codeOf(error), message: messageOf(error) });
        }
      }
    }
  }
}

/**
 * Period-to-date values of the days the plan needs (never reported, or the latest of their period),
 * read through the billing side so they are Meterline's billed quantities. A gauge bills every day at
 * its carried-forward level, readings or not; peaks and distinct counts change only on days with events.
 */
async function periodToDateDays(deps: UsageReportDependencies, run: MeterRun, daysWithEvents: string[]): Promise<DayValue[]> {
  const billing = deps.billing;
  const gauge = isGauge(run.meter.aggregation);
  const candidates = gauge ? run.days.map((d) => d.day) : daysWithEvents;
  const byPeriod = new Map<number, { period: Period; days: string[] }>();
  for (const day of candidates) {
    const period = run.periodOf(day);
    const group = byPeriod.get(period.start) ?? { period, days: [] };
    group.days.push(day);
    byPeriod.set(period.start, group);
  }
  const billedOn = (period: Period, day: string) => {
    const end = run.dayOf(day).end;
    // Unit-months divide by the hours of the whole period; a peak or a distinct count is the period's so far.
    return billing.quantity(run.tenantId, run.meter, gauge ? period : { start: period.start, end }, end);
  };
  const out: DayValue[] = [];
  for (const { period, days } of byPeriod.values()) {
    const latest = days.at(-1)!;
    const latestValue = await billedOn(period, latest);
    // Unit-months only grow through a period: nothing at its latest day means nothing on any day before.
    const inPeriod = [...run.records.values()].some(
      (r) => r.reported && run.dayOf(r.day).start >= period.start && run.dayOf(r.day).start < period.end,
    );
    if (gauge && new Dec(latestValue).isZero() && !inPeriod) continue;
    const values: DayValue[] = [];
    for (const day of days.filter((d) => d === latest || !run.records.get(d)?.reported).reverse()) {
      const value = day === latest ? latestValue : await billedOn(period, day);
      // A day with no unit-months yet has none before it either: nothing earlier to report.
      if (gauge && day !== latest && new Dec(value).isZero()) break;
      values.unshift({ day, span: run.dayOf(day), period, value });
    }
    out.push(...values);
  }
  return out;
}

async function send(deps: UsageReportDependencies, run: MeterRun, day: string, event: PendingEvent): Promise<void> {
  const outcome = await deps.reporter.sendMeterEvent(run.customerId, event);
  await deps.store.commitPending(run.tenantId, run.meter.key, day, event);
  run.report.sent.push({
    meter: run.meter.key,
    day,
    identifier: event.identifier,
    value: event.value,
    timestamp: event.timestamp,
    outcome,
  });
}

function codeOf(error: unknown): string {
  const e = error as { code?: unknown; name?: unknown };
  return typeof e?.code === 'string' ? e.code : typeof e?.name === 'string' ? e.name : 'ERROR';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
