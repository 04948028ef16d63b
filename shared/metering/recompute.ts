import { Dec } from '../kernel/decimal.js';
import { nextPeriodStart, periodKey, periodKeyStart, periodStart } from '../kernel/periods.js';
import { type Candidate, type CounterRef, counterKey, countersOf, type ReadingRef, readingOf } from './aggregation.js';
import type { UsageEvent } from './events.js';
import type { Aggregation } from './meters.js';
import type { LedgerEntry } from './ports.js';

/**
 * Recompute: rebuild a tenant's counters from the ledger, compare them with the live ones, report every drift and
 * plan its repair. Pure: the store adapter reads the ledger and the counters and executes the repairs.
 *
 * A counter is compared only when the ledger can rebuild it whole: its period starts inside the job's range, and
 * the range starts inside the ledger's retention (every event stamped after `now - retention` is still in the
 * ledger, because an entry expires `retention` days after max(timestamp, receipt)).
 *
 * Ingestion keeps running meanwhile, so the live counters are read twice, before and after the ledger is read. A
 * fold always adds to a counter's event count, so a counter whose two readings agree took no fold while the
 * ledger was read: the ledger seen is exactly what that reading counts. Only a correction can change a counter and
 * leave both readings equal (a void and a new event of the same value), so counters a recent correction touched
 * are left out too. Counters that moved are reported as `changing`, never as drift.
 */
export interface RecomputeScope {
  tenantId: string;
  /** One meter, or every meter of the tenant. */
  meter?: string;
  /** Counters whose period starts in [from, to) (epoch ms). */
  from: number;
  to: number;
}

export interface RecomputeRequest {
  meter?: string;
  from?: number;
  to?: number;
}

/** How long a correction may take between stamping `correctedAt` and committing: the longest a Lambda function runs. */
export const CORRECTION_COMMIT_BOUND_MS = 15 * 60_000;

/**
 * The range a job covers: by default (and at the earliest) the ledger's retention less a day of margin, up to the
 * end of the current hour. `limits` says what was left out and why.
 */
export function recomputeScope(
  tenantId: string,
  request: RecomputeRequest,
  now: number,
  retentionDays: number,
): { scope: RecomputeScope; limits: string[] } {
  const horizon = nextPeriodStart('hour', periodStart('hour', now - (retentionDays - 1) * 86_400_000));
  const limits: string[] = [];
  let from = request.from ?? horizon;
  if (from < horizon) {
    limits.push(
      `counters of periods starting before ${new Date(horizon).toISOString()} were not compared: the ledger keeps events ${retentionDays} days, so it may no longer hold all of theirs`,
    );
    from = horizon;
  }
  const to = request.to ?? nextPeriodStart('hour', periodStart('hour', now));
  return { scope: { tenantId, ...(request.meter ? { meter: request.meter } : {}), from, to }, limits };
}

/** The event timestamps a scope needs read: every event of every counter whose period starts in [from, to). */
export function ledgerRange(scope: RecomputeScope): { from: number; to: number } {
  return { from: scope.from, to: nextPeriodStart('month', periodStart('month', Math.max(scope.from, scope.to - 1))) };
}

export function inScope(scope: RecomputeScope, ref: CounterRef): boolean {
  if (ref.tenantId !== scope.tenantId || (scope.meter !== undefined && ref.meter !== scope.meter)) return false;
  const start = periodKeyStart(ref.granularity, ref.period);
  return start >= scope.from && start < scope.to;
}

/** A counter as stored, or as the ledger says it should be. Absent counters hold no events and no value. */
export interface CounterState {
  value?: string;
  events: number;
  /** LATEST: which reading the value is. */
  latestAt?: string;
  latestId?: string;
  /**
   * UNIQUE_COUNT: the distinct values with a marker. TIME_WEIGHTED: the readings of the hour counter of their
   * own group, each as `readingMarker` spells it (the readings are its set of items, as markers are).
   */
  markers?: string[];
}

/** A TIME_WEIGHTED reading as a recompute compares it: `<ISO instant>#<value>#<id>` (the instant has a fixed length). */
export const readingMarker = (r: Pick<ReadingRef, 'at' | 'id' | 'value'>): string => `${r.at}#${r.value}#${r.id}`;

export function parseReadingMarker(ref: CounterRef, marker: string): ReadingRef {
  const at = marker.slice(0, 24);
  const rest = marker.slice(25);
  const cut = rest.indexOf('#');
  return { tenantId: ref.tenantId, meter: ref.meter, groupKey: ref.groupKey, at, value: rest.slice(0, cut), id: rest.slice(cut + 1) };
}

/** The counter a TIME_WEIGHTED reading belongs to in a recompute: the hour counter of its group. */
export const readingCounter = (r: ReadingRef): CounterRef => ({
  tenantId: r.tenantId,
  meter: r.meter,
  granularity: 'hour',
  period: periodKey('hour', Date.parse(r.at)),
  groupKey: r.groupKey,
});

/** Aggregations whose counters carry a set of items (markers or readings) a recompute compares one by one. */
const carriesMarkers = (a: Aggregation) => a === 'UNIQUE_COUNT' || a === 'TIME_WEIGHTED';

export interface LiveCounter extends CounterState {
  ref: CounterRef;
}

export interface ExpectedCounter extends CounterState {
  ref: CounterRef;
  aggregation: Aggregation;
}

interface Accumulator {
  ref: CounterRef;
  aggregation: Aggregation;
  events: number;
  sum: Dec;
  /** MAX or MIN: the value kept. */
  max?: string;
  latest?: Candidate;
  /** UNIQUE_COUNT: the distinct values; TIME_WEIGHTED: the hour's readings of the counter's own group. */
  distinct?: Set<string>;
}

/** Folds ledger entries into the counters they should have made, as the consumer folds them. */
export class CounterRebuild {
  private readonly counters = new Map<string, Accumulator>();

  constructor(private readonly scope: RecomputeScope) {}

  /** True when the entry counts in some counter of the scope. */
  add(entry: LedgerEntry): boolean {
    if (entry.status === 'quarantined' || entry.voidedAt !== undefined) return false;
    let counted = false;
    for (const ref of countersOf(entry)) {
      if (!inScope(this.scope, ref)) continue;
      counted = true;
      const key = counterKey(ref);
      let c = this.counters.get(key);
      if (!c) {
        c = { ref, aggregation: entry.aggregation, events: 0, sum: new Dec(0) };
        this.counters.set(key, c);
      }
      c.events += 1;
      fold(c, entry);
      if (entry.aggregation === 'TIME_WEIGHTED' && counterKey(readingCounter(readingOf(entry))) === key) {
        c.distinct ??= new Set();
        c.distinct.add(readingMarker(readingOf(entry)));
      }
    }
    return counted;
  }

  expected(): Map<string, ExpectedCounter> {
    const out = new Map<string, ExpectedCounter>();
    for (const [key, c] of this.counters) out.set(key, { ref: c.ref, aggregation: c.aggregation, ...stateOf(c) });
    return out;
  }
}

function fold(c: Accumulator, e: UsageEvent): void {
  switch (e.aggregation) {
    case 'SUM':
    case 'AVG':
      c.sum = c.sum.plus(e.value);
      break;
    case 'COUNT':
      c.sum = c.sum.plus(1);
      break;
    case 'MAX':
      if (c.max === undefined || new Dec(e.value).greaterThan(c.max)) c.max = e.value;
      break;
    case 'MIN':
      if (c.max === undefined || new Dec(e.value).lessThan(c.max)) c.max = e.value;
      break;
    case 'TIME_WEIGHTED':
      break;
    case 'LATEST':
      if (!c.latest || e.timestamp > c.latest.at || (e.timestamp === c.latest.at && e.id > c.latest.id))
        c.latest = { value: e.value, at: e.timestamp, id: e.id };
      break;
    case 'UNIQUE_COUNT':
      c.distinct ??= new Set();
      c.distinct.add(e.value);
      break;
  }
}

function stateOf(c: Accumulator): CounterState {
  switch (c.aggregation) {
    case 'SUM':
    case 'COUNT':
    case 'AVG':
      return { value: c.sum.toFixed(), events: c.events };
    case 'MAX':
    case 'MIN':
      return { value: c.max!, events: c.events };
    case 'TIME_WEIGHTED':
      return { events: c.events, markers: [...(c.distinct ?? [])].sort() };
    case 'LATEST':
      return { value: c.latest!.value, events: c.events, latestAt: c.latest!.at, latestId: c.latest!.id };
    case 'UNIQUE_COUNT':
      return { value: String(c.distinct!.size), events: c.events, markers: [...c.distinct!].sort() };
  }
}

/** The counters a correction changed: those of the event before it and after it. */
export function correctedCounters(before: UsageEvent, after: UsageEvent | undefined): string[] {
  return [...countersOf(before), ...(after ? countersOf(after) : [])].map(counterKey);
}

export interface Drift {
  ref: CounterRef;
  aggregation: Aggregation;
  expected: CounterState;
  actual: CounterState;
  /** UNIQUE_COUNT: distinct values of the ledger without a marker, and markers of values the ledger does not hold. */
  missingMarkers?: string[];
  extraMarkers?: string[];
}

export interface Comparison {
  compared: number;
  drifts: Drift[];
  /** Counters written while the ledger was read (or touched by a recent correction): not compared. */
  changing: CounterRef[];
}

/**
 * Compares the rebuilt counters with the live ones read before (`before`) and after (`after`) the ledger was read.
 * `touched` are counters recent corrections changed. `aggregationOf` names a meter's aggregation (a live counter
 * the ledger has no event for still needs one).
 */
export function compareCounters(
  expected: ReadonlyMap<string, ExpectedCounter>,
  before: ReadonlyMap<string, LiveCounter>,
  after: ReadonlyMap<string, LiveCounter>,
  touched: ReadonlySet<string>,
  aggregationOf: (meter: string) => Aggregation | undefined,
): Comparison {
  const keys = [...new Set([...expected.keys(), ...before.keys(), ...after.keys()])].sort();
  const result: Comparison = { compared: 0, drifts: [], changing: [] };
  for (const key of keys) {
    const ref = (expected.get(key) ?? before.get(key) ?? after.get(key))!.ref;
    const first = before.get(key);
    const second = after.get(key);
    if (touched.has(key) || !sameState(first, second)) {
      result.changing.push(ref);
      continue;
    }
    const aggregation = expected.get(key)?.aggregation ?? aggregationOf(ref.meter);
    if (!aggregation) continue;
    result.compared += 1;
    const want: CounterState = stateOnly(expected.get(key)) ?? { events: 0, ...(carriesMarkers(aggregation) ? { markers: [] } : {}) };
    const have: CounterState = stateOnly(first) ?? { events: 0, ...(carriesMarkers(aggregation) ? { markers: [] } : {}) };
    const drift = differs(aggregation, want, have);
    if (drift) result.drifts.push({ ref, aggregation, expected: want, actual: have, ...drift });
  }
  return result;
}

function stateOnly(c: CounterState | undefined): CounterState | undefined {
  if (!c) return undefined;
  return {
    ...(c.value !== undefined ? { value: c.value } : {}),
    events: c.events,
    ...(c.latestAt !== undefined ? { latestAt: c.latestAt, latestId: c.latestId } : {}),
    ...(c.markers !== undefined ? { markers: c.markers } : {}),
  };
}

const sameValue = (a: string | undefined, b: string | undefined) =>
  a === undefined || b === undefined ? a === b : new Dec(a).equals(new Dec(b));

function sameState(a: CounterState | undefined, b: CounterState | undefined): boolean {
  if (!a || !b) return a === b;
  return sameValue(a.value, b.value) && a.events === b.events && a.latestAt === b.latestAt && a.latestId === b.latestId;
}

function differs(
  aggregation: Aggregation,
  want: CounterState,
  have: CounterState,
): { missingMarkers?: string[]; extraMarkers?: string[] } | undefined {
  const additive = aggregation !== 'MAX' && aggregation !== 'MIN' && aggregation !== 'LATEST';
  const value = additive ? sameValue(want.value ?? '0', have.value ?? '0') : sameValue(want.value, have.value);
  const latest = aggregation !== 'LATEST' || (want.latestAt === have.latestAt && want.latestId === have.latestId);
  if (carriesMarkers(aggregation)) {
    const wanted = new Set(want.markers ?? []);
    const held = new Set(have.markers ?? []);
    const missingMarkers = [...wanted].filter((m) => !held.has(m));
    const extraMarkers = [...held].filter((m) => !wanted.has(m));
    if (value && want.events === have.events && missingMarkers.length === 0 && extraMarkers.length === 0) return undefined;
    return { missingMarkers, extraMarkers };
  }
  return value && latest && want.events === have.events ? undefined : {};
}

/**
 * How to repair a drift without losing what folds concurrently. Every repair is conditional on the counter still
 * holding the state it was compared in (`guard`).
 * - `add` (SUM, COUNT, AVG, UNIQUE_COUNT, TIME_WEIGHTED): add the difference to the value and the event count. A fold that lands first
 *   adds what the ledger also gained, so the difference stays the same: retried against the new state. With marker
 *   or reading changes (UNIQUE_COUNT, TIME_WEIGHTED) the difference is no longer known after a fold (a missing marker lets a repeated value
 *   count again), so a conflict is reported instead.
 * - `set` (MAX, MIN, LATEST): store the rebuilt value and add the event count's difference. After a conflict the
 *   events folded meanwhile are unknown (a smaller MAX or an older reading leaves no trace but the count): reported.
 * - `remove` (MAX, MIN, LATEST): the ledger holds no event for the counter.
 */
export type Repair =
  | { kind: 'add'; value: string; events: number; putMarkers: string[]; removeMarkers: string[] }
  | { kind: 'set'; value: string; events: number; latestAt?: string; latestId?: string }
  | { kind: 'remove' };

export function repairOf(drift: Drift): Repair {
  const { expected: want, actual: have } = drift;
  switch (drift.aggregation) {
    case 'SUM':
    case 'COUNT':
    case 'AVG':
    case 'UNIQUE_COUNT':
    case 'TIME_WEIGHTED':
      return {
        kind: 'add',
        value: new Dec(want.value ?? '0').minus(have.value ?? '0').toFixed(),
        events: want.events - have.events,
        putMarkers: drift.missingMarkers ?? [],
        removeMarkers: drift.extraMarkers ?? [],
      };
    case 'MAX':
    case 'MIN':
    case 'LATEST':
      if (want.value === undefined) return { kind: 'remove' };
      return {
        kind: 'set',
        value: want.value,
        events: want.events - have.events,
        ...(want.latestAt !== undefined ? { latestAt: want.latestAt, latestId: want.latestId } : {}),
      };
  }
}

/** What a recompute found (and did), as the job's status shows it. */
export interface RecomputeProgress {
  phase: 'queued' | 'reading counters' | 'reading ledger' | 'comparing' | 'repairing' | 'done';
  /** Ledger items the scan went through (every tenant's: the ledger has no per-tenant index), and the scope's events among them. */
  itemsScanned: number;
  eventsRead: number;
  countersCompared: number;
  countersChanging: number;
  driftsFound: number;
  driftsRepaired: number;
  repairConflicts: number;
}

export const emptyProgress = (): RecomputeProgress => ({
  phase: 'queued',
  itemsScanned: 0,
  eventsRead: 0,
  countersCompared: 0,
  countersChanging: 0,
  driftsFound: 0,
  driftsRepaired: 0,
  repairConflicts: 0,
});
