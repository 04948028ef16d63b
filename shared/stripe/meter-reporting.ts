import { createHash } from 'node:crypto';
import { periodAt, type Subscription, timeZoneAt } from '../billing/subscriptions.js';
import { Dec } from '../kernel/decimal.js';
import { type Period, periodKeyStart } from '../kernel/periods.js';
import { calendarDays, localMonth, startOfDay, type ZoneChange, zoneAt } from '../kernel/zones.js';
import { type Aggregation, isGauge, type Meter } from '../metering/meters.js';
import { GAUGE_DECIMALS } from '../metering/period-usage.js';

/**
 * Daily usage reporting to a billing provider's meters (Stripe billing meters), as pure planning:
 * which tenant × meter × day gets which meter event. Days are the tenant's local days (its subscription's
 * time zone, kernel/zones.ts; UTC days without one). The report run (./usage-report.ts) executes the
 * plan through ./ports.ts; nothing here knows Stripe's SDK or DynamoDB.
 *
 * One event per tenant × meter × day carries that day's quantity, stamped at the middle of the local day
 * (noon, or 11:30 / 12:30 on a day of 23 or 25 hours; plus one second per correction so a correction sorts
 * after what it corrects) and identified deterministically, so a rerun sends the same identifier and can
 * never count twice. Stripe bills a meter event in the subscription period its timestamp falls in, and keeps
 * a monthly anchor at one UTC time of day, so its boundaries may sit an hour off local midnight across DST;
 * half a day from either end, the stamp falls in the same period on both sides.
 *
 * Whatever the provider folds over the tenant's billing period must equal Meterline's billed quantity
 * for that period (shared/metering/period-usage.ts), so that reconciliation compares like with like.
 */

/** How a provider meter folds the events it receives over a billing period. */
export type MeterFormula = 'sum' | 'last';

export interface MeterReporting {
  /** The provider meter's event name: one meter per Meterline meter key and what it is billed in. */
  eventName: string;
  displayName: string;
  formula: MeterFormula;
  /**
   * Provider meter values must be whole numbers. SUM, MAX and MIN are reported in thousandths of their unit,
   * LATEST in millionths of a unit-month (micro-GB-months: shared/metering/period-usage.ts rounds unit-months to 6
   * decimals, so the period's total is whole), TIME_WEIGHTED and AVG in millionths too (rounded to 6 decimals
   * alike), all rounded half up; counts (COUNT, UNIQUE_COUNT) as they are. Prices on scaled meters are set per scaled unit (unit_amount_decimal = price ÷ scale).
   */
  scale: number;
}

const scales: Record<Aggregation, number> = {
  COUNT: 1,
  UNIQUE_COUNT: 1,
  SUM: 1000,
  MAX: 1000,
  MIN: 1000,
  AVG: 10 ** GAUGE_DECIMALS,
  LATEST: 10 ** GAUGE_DECIMALS,
  TIME_WEIGHTED: 10 ** GAUGE_DECIMALS,
};

/**
 * True for meters whose billed quantity is not the sum of per-day quantities, so each day is valued
 * period-to-date: MAX and MIN (the period's extremes), AVG (the mean of the period's events), UNIQUE_COUNT
 * (distinct values over the period) and the gauges (LATEST's unit-months, TIME_WEIGHTED's integral).
 */
export const periodToDate = (aggregation: Aggregation): boolean => aggregation !== 'SUM' && aggregation !== 'COUNT';

/**
 * SUM and COUNT add up over a period: each day's quantity is summed ('sum'). LATEST gauges are billed
 * in unit-months, which add up too once each day carries its share of the period's total ('sum', a
 * meter of its own: `_unit_months`, since a gauge's level and its unit-months are different
 * quantities). MAX and UNIQUE_COUNT do not add up (a period's distinct users are not the sum of each
 * day's), so each day carries the period-to-date value and the provider keeps the last one ('last'); so do MIN
 * and AVG (a mean of means is not the mean). TIME_WEIGHTED integrals add up like LATEST's unit-months: each
 * day carries its share of the period's integral ('sum', a meter named by the unit of time: `_time_weighted_hours`).
 */
export function meterReporting(meter: Pick<Meter, 'key' | 'name' | 'aggregation'> & Partial<Pick<Meter, 'per'>>): MeterReporting {
  const measure =
    meter.aggregation === 'LATEST'
      ? 'unit_months'
      : meter.aggregation === 'TIME_WEIGHTED'
        ? `time_weighted_${meter.per ?? 'month'}s`
        : meter.aggregation.toLowerCase();
  const last: readonly Aggregation[] = ['MAX', 'MIN', 'AVG', 'UNIQUE_COUNT'];
  return {
    eventName: `meterline_${meter.key}_${measure}`,
    displayName: `${meter.name} (${meter.key}, ${measure.replaceAll('_', '-')})`,
    formula: last.includes(meter.aggregation) ? 'last' : 'sum',
    scale: scales[meter.aggregation],
  };
}

/**
 * The billing period a usage instant falls in, as the report needs it: the subscription's period
 * (shared/billing/subscriptions.ts); without a subscription, the calendar month; before the subscription
 * started, the calendar month of its zone cut at its start.
 */
export function reportingPeriod(subscription: Subscription | undefined, instant: number): Period {
  const month = localMonth(timeZoneAt(subscription, instant), instant);
  const started = subscription ? Date.parse(subscription.startedAt) : Infinity;
  if (!subscription || instant < started) return { start: month.start, end: Math.min(month.end, started) };
  const { start, end } = periodAt(subscription, instant);
  return { start, end };
}

/** A decimal meter value in the provider's whole units. */
export function scaledQuantity(value: string, scale: number): string {
  return new Dec(value).times(scale).toDecimalPlaces(0, Dec.ROUND_HALF_UP).toFixed();
}

/** Stripe accepts meter events up to 35 days old and at most 5 minutes ahead. */
export const PROVIDER_WINDOW = { pastSeconds: 35 * 86_400, futureSeconds: 300 } as const;
/** Kept clear of the 35-day edge, so a retry minutes later is not refused. */
const WINDOW_MARGIN_SECONDS = 3_600;
/** How far back the job looks for days to report: the window plus days to flag as out of it. */
export const LOOKBACK_DAYS = 45;

const MAX_IDENTIFIER = 100;

/** `<tenant>:<meter>:<day>`, then `<tenant>:<meter>:<day>:delta:<n>` for the n-th correction. */
export function reportIdentifier(tenantId: string, meter: string, day: string, sequence: number): string {
  const id = sequence === 0 ? `${tenantId}:${meter}:${day}` : `${tenantId}:${meter}:${day}:delta:${sequence}`;
  // Stripe caps identifiers at 100 characters; long tenant and meter keys keep determinism through a hash.
  return id.length <= MAX_IDENTIFIER ? id : `mtl:${createHash('sha256').update(id).digest('hex')}`;
}

/** Seconds since the epoch: the middle of the local day, one second later per correction. */
export function reportTimestamp(day: Period, sequence: number): number {
  return Math.floor((day.start + day.end) / 2_000) + sequence;
}

/**
 * Stripe creates a period's invoice when the period ends and finalizes it after the account's finalization
 * grace period (1 hour by default, at most 72); until then a meter event stamped inside the period still
 * changes the invoice. Meterline assumes the default.
 */
export const PROVIDER_FINALIZATION_GRACE_MS = 3_600_000;

/** True once the provider's invoice for `period` is final: usage it billed can only be credited back. */
export function invoicedByProvider(period: Period, now: number): boolean {
  return now >= period.end + PROVIDER_FINALIZATION_GRACE_MS;
}

export function withinProviderWindow(timestamp: number, now: number): boolean {
  const nowS = now / 1000;
  return timestamp >= nowS - PROVIDER_WINDOW.pastSeconds + WINDOW_MARGIN_SECONDS && timestamp <= nowS + PROVIDER_WINDOW.futureSeconds;
}

/** What one completed day brings to a meter's provider meter. */
export interface DayValue {
  /** The local day's key ("2026-04-05") and its instants. */
  day: string;
  span: Period;
  /**
   * A decimal string. SUM, COUNT: the day's own quantity. MAX, UNIQUE_COUNT, LATEST (`periodToDate`):
   * Meterline's billed quantity of the day's billing period through the end of the day (LATEST: the
   * period's unit-months accumulated so far, divided by the hours of the whole period).
   */
  value: string;
  /** The billing period holding the day (`reportingPeriod`). */
  period: Period;
}

/** What was reported for one tenant × meter × day. */
export interface ReportRecord {
  day: string;
  /** Absent until the provider has the day's first event. */
  reported?: Reported;
  /** A meter event written down before it is sent: a run that crashed after sending resends exactly this. */
  pending?: PendingEvent;
  /** The scaled target last flagged as impossible to report, so a flag is raised once per value. */
  flagged?: string;
}

export interface MeterEventDraft {
  eventName: string;
  identifier: string;
  /** Seconds since the epoch. */
  timestamp: number;
  /** Whole units, as a decimal string. */
  value: string;
}

export interface Reported {
  /** 'sum' meters: the scaled total the day carries so far; 'last' meters: the scaled value last sent. */
  value: string;
  /** 0 after the day's first event; n after its n-th correction. */
  sequence: number;
}

export interface PendingEvent extends MeterEventDraft {
  /** The record once the provider has the event. */
  after: Reported;
}

export type ReportFlag = 'OUTSIDE_PROVIDER_WINDOW' | 'NEGATIVE_CORRECTION';

export type ReportStep =
  | { kind: 'send'; day: string; event: PendingEvent }
  | { kind: 'skip'; day: string }
  | { kind: 'flag'; day: string; code: ReportFlag; target: string; message: string };

export interface MeterReportInput {
  tenantId: string;
  meter: Pick<Meter, 'key' | 'name' | 'aggregation'> & Partial<Pick<Meter, 'per'>>;
  /**
   * Completed days, oldest first. Period-to-date meters need only the days never reported and each
   * period's latest day: an earlier day that was reported is skipped whatever its value.
   */
  days: DayValue[];
  /** The meter's records by day, from the start of the earliest period in `days` on. */
  records: ReadonlyMap<string, ReportRecord>;
  now: number;
  /** The tenant's calendar: each day key's first instant (the start of the UTC day unless given). */
  dayStart?: (day: string) => number;
}

/**
 * The steps that bring the provider in line with Meterline for one tenant × meter. A day never
 * reported gets its event. SUM and COUNT: a day whose total changed since gets a delta event with the
 * difference, negative when it fell (a voided event, a corrected value): Stripe sums negative quantities
 * on 'sum' meters and bills a period that sums below zero as 0. A fall in a period Stripe has already
 * invoiced cannot reach that invoice and is flagged instead (it needs a credit). Period-to-date meters are corrected only on the latest day of a billing period (earlier
 * days are superseded by it): 'last' meters with the full new value, LATEST with the difference.
 *
 * LATEST days carry shares of the period's unit-months: a day's target is the period's unit-months
 * through the day (rounded, scaled) less what the period's earlier days carry. With no late data that
 * is round(cumulative through the day) − round(cumulative through the day before), so rounding never
 * drifts and the period's events sum to exactly the rounded total Meterline bills. A late reading that
 * changes an earlier day's share is carried by the next day reported, or by a delta on the period's
 * latest day once the period is over, never by a correction per day (one event per day, each
 * carrying rounding noise). Days outside the provider's window are flagged instead.
 */
export function planMeterReport(input: MeterReportInput): ReportStep[] {
  const reporting = meterReporting(input.meter);
  const byPeriod = periodToDate(input.meter.aggregation);
  const shares = isGauge(input.meter.aggregation);
  const steps: ReportStep[] = [];
  const latestOfPeriod = new Map<number, string>();
  for (const d of input.days) latestOfPeriod.set(d.period.start, d.day);
  // What each day carries at the provider, updated as this plan sends.
  const carried = new Map<string, Dec>();
  for (const r of input.records.values()) if (r.reported) carried.set(r.day, new Dec(r.reported.value));
  const dayStart = input.dayStart ?? ((day: string) => periodKeyStart('day', day));
  const carriedBefore = (d: DayValue) => {
    let sum = new Dec(0);
    for (const [day, value] of carried) {
      const at = dayStart(day);
      if (at >= d.period.start && day < d.day) sum = sum.plus(value);
    }
    return sum;
  };

  for (const d of input.days) {
    const latest = latestOfPeriod.get(d.period.start) === d.day;
    const scaled = scaledQuantity(d.value, reporting.scale);
    const target = shares ? new Dec(scaled).minus(carriedBefore(d)).toFixed() : scaled;
    const record = input.records.get(d.day);
    const reported = record?.reported;

    const superseded = byPeriod && reported && !latest;
    let quantity: string | undefined;
    if (superseded) quantity = undefined;
    else if (reporting.formula === 'sum') {
      const delta = new Dec(target).minus(reported?.value ?? '0');
      if (!delta.isZero()) quantity = delta.toFixed();
    } else if (reported?.value !== target) quantity = target;
    if (quantity === undefined || record?.flagged === target) {
      steps.push({ kind: 'skip', day: d.day });
      continue;
    }
    const sequence = reported ? reported.sequence + 1 : 0;
    const timestamp = reportTimestamp(d.span, sequence);
    if (new Dec(quantity).isNegative() && invoicedByProvider(d.period, input.now)) {
      const message = `usage for ${d.day} fell by ${new Dec(quantity).negated()} after Stripe invoiced its period: needs a credit`;
      steps.push({ kind: 'flag', day: d.day, code: 'NEGATIVE_CORRECTION', target, message });
      continue;
    }
    if (!withinProviderWindow(timestamp, input.now)) {
      steps.push({
        kind: 'flag',
        day: d.day,
        code: 'OUTSIDE_PROVIDER_WINDOW',
        target,
        message: `${quantity} for ${d.day} can no longer be reported: Stripe accepts meter events up to 35 days old`,
      });
      continue;
    }
    carried.set(d.day, new Dec(target));
    steps.push({
      kind: 'send',
      day: d.day,
      event: {
        eventName: reporting.eventName,
        identifier: reportIdentifier(input.tenantId, input.meter.key, d.day, sequence),
        timestamp,
        value: quantity,
        after: { value: target, sequence },
      },
    });
  }
  return steps;
}

/** The completed local days the job looks at when it runs at `now`: the lookback up to yesterday, in the tenant's calendar. */
export function reportDays(timeZones: readonly ZoneChange[] | undefined, now: number): (Period & { day: string })[] {
  const today = startOfDay(zoneAt(timeZones, now).timeZone, now);
  const from = startOfDay(zoneAt(timeZones, today - LOOKBACK_DAYS * 86_400_000).timeZone, today - LOOKBACK_DAYS * 86_400_000);
  return calendarDays(timeZones, { start: from, end: today });
}

/** A provider refusal that retrying cannot fix (window, validation). */
export class MeterEventRejected extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'MeterEventRejected';
  }
}

export interface SentEvent {
  meter: string;
  day: string;
  identifier: string;
  value: string;
  timestamp: number;
  outcome: 'sent' | 'duplicate';
}

export interface ReportError {
  tenantId: string;
  meter?: string;
  day?: string;
  code: string;
  message: string;
}

/** What one run did for one tenant. */
export interface TenantReport {
  tenantId: string;
  runAt: string;
  sent: SentEvent[];
  skipped: number;
  errors: ReportError[];
}
