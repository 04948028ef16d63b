import { Dec } from '../kernel/decimal.js';
import { isWellFormed } from '../kernel/json.js';
import { type Granularity, granularities, periodKey } from '../kernel/periods.js';
import { eventKey, type UsageEvent } from './events.js';
import type { Aggregation } from './meters.js';

/**
 * Plans how queue messages fold into counters. Pure: the store adapter executes each plan as one atomic
 * write, and when a write is refused it reports what it learned (a distinct value already seen, a stored
 * MAX/LATEST that already wins) so the events can be planned again. Everything learned only ever grows,
 * so replanning converges.
 */

export interface CounterRef {
  tenantId: string;
  meter: string;
  granularity: Granularity;
  period: string;
  groupKey: string;
}

/** The newest, largest or smallest value a plan wants stored; `at` and `id` order LATEST candidates. */
export interface Candidate {
  value: string;
  at: string;
  id: string;
}

export interface CounterDelta extends CounterRef {
  aggregation: Aggregation;
  /** Events folded into this counter by the plan. */
  events: number;
  /** Amount to add: SUM and AVG of values, COUNT of events, UNIQUE_COUNT of distinct values not seen before. */
  add?: string;
  /** MAX, MIN and LATEST: the value to store unless the stored one already wins. */
  candidate?: Candidate;
}

/**
 * One reading of a TIME_WEIGHTED meter, kept as an item of its own beside the counters (under its group, '' when
 * the meter has none): the period's integral needs each reading's neighbours, which no counter update can know, so
 * the readings are kept as a set (a put is idempotent and order-free) and integrated when read (./period-usage.ts).
 */
export interface ReadingRef {
  tenantId: string;
  meter: string;
  groupKey: string;
  at: string;
  id: string;
  value: string;
}

export interface MarkerRef extends CounterRef {
  value: string;
}

export interface FoldPlan {
  events: UsageEvent[];
  counters: CounterDelta[];
  markers: MarkerRef[];
  readings: ReadingRef[];
}

export interface Facts {
  /** markerKey of distinct values already counted. */
  seenMarkers: Set<string>;
  /** beatenKey(counter, candidate) of candidates the stored value already beats. */
  beaten: Set<string>;
}

export const emptyFacts = (): Facts => ({ seenMarkers: new Set(), beaten: new Set() });

/** DynamoDB allows 100 items in one transaction. */
export const MAX_ITEMS_PER_PLAN = 100;

export const counterPartition = (c: { tenantId: string; meter: string }): string => `${c.tenantId}#${c.meter}`;
export const counterSort = (c: CounterRef): string => `${c.granularity}#${c.groupKey}#${c.period}`;
export const counterKey = (c: CounterRef): string => `${counterPartition(c)}|${counterSort(c)}`;
export const markerSort = (m: MarkerRef): string => `unique#${counterSort(m)}#${m.value}`;
export const markerKey = (m: MarkerRef): string => `${counterPartition(m)}|${markerSort(m)}`;
/** Readings sort by group, then instant: `readingPrefix(group) + <ISO instant>` bounds a stretch of time. */
export const readingPrefix = (groupKey: string): string => `reading#${groupKey}#`;
export const readingSort = (r: Pick<ReadingRef, 'groupKey' | 'at' | 'id'>): string => `${readingPrefix(r.groupKey)}${r.at}#${r.id}`;
export const readingKey = (r: ReadingRef): string => `${counterPartition(r)}|${readingSort(r)}`;
/** A reading as the counters table keeps it. */
export const readingItem = (r: ReadingRef) => ({
  pk: counterPartition(r),
  sk: readingSort(r),
  groupKey: r.groupKey,
  at: r.at,
  id: r.id,
  value: r.value,
});
export const readingOf = (e: UsageEvent): ReadingRef => ({
  tenantId: e.tenantId,
  meter: e.meter,
  groupKey: e.groupKey,
  at: e.timestamp,
  id: e.id,
  value: e.value,
});
export const beatenKey = (c: CounterRef, candidate: Candidate): string =>
  `${counterKey(c)}|${candidate.value}|${candidate.at}|${candidate.id}`;

/** The counters one event touches: every granularity, for the meter total and for its group. */
export function countersOf(e: UsageEvent): CounterRef[] {
  const at = Date.parse(e.timestamp);
  const groups = e.groupKey === '' ? [''] : ['', e.groupKey];
  const refs: CounterRef[] = [];
  for (const groupKey of groups) {
    for (const granularity of granularities) {
      refs.push({ tenantId: e.tenantId, meter: e.meter, granularity, period: periodKey(granularity, at), groupKey });
    }
  }
  return refs;
}

/** DynamoDB's key limits, in UTF-8 bytes. */
const MAX_PARTITION_KEY_BYTES = 2048;
const MAX_SORT_KEY_BYTES = 1024;
const decimal = /^\d+(\.\d+)?$/;

/**
 * Why `e` can never be folded, or undefined. Ingest admits only foldable events; the consumer checks again,
 * so that an event no write can ever take is set aside (quarantined) instead of failing its whole batch.
 */
export function unfoldableReason(e: UsageEvent): string | undefined {
  const text = [e.tenantId, e.id, e.meter, e.value, e.groupKey, e.subject ?? ''];
  if (!text.every(isWellFormed)) return 'a field holds an unpaired surrogate, which DynamoDB cannot store';
  if (Number.isNaN(Date.parse(e.timestamp))) return `timestamp ${JSON.stringify(e.timestamp.slice(0, 64))} is not a date`;
  if (e.aggregation !== 'UNIQUE_COUNT' && !decimal.test(e.value)) return `value ${JSON.stringify(e.value.slice(0, 64))} is not a decimal`;
  if (Buffer.byteLength(eventKey(e)) > MAX_PARTITION_KEY_BYTES) return `the ledger key is over ${MAX_PARTITION_KEY_BYTES} bytes`;
  if (Buffer.byteLength(counterPartition(e)) > MAX_PARTITION_KEY_BYTES) return `the counter key is over ${MAX_PARTITION_KEY_BYTES} bytes`;
  for (const ref of countersOf(e)) {
    const sort = e.aggregation === 'UNIQUE_COUNT' ? markerSort({ ...ref, value: e.value }) : counterSort(ref);
    const bytes = Buffer.byteLength(sort);
    if (bytes > MAX_SORT_KEY_BYTES) return `the ${ref.granularity} counter key is ${bytes} bytes; DynamoDB allows ${MAX_SORT_KEY_BYTES}`;
  }
  if (e.aggregation === 'TIME_WEIGHTED') {
    const bytes = Buffer.byteLength(readingSort(readingOf(e)));
    if (bytes > MAX_SORT_KEY_BYTES) return `the reading's key is ${bytes} bytes; DynamoDB allows ${MAX_SORT_KEY_BYTES}`;
  }
  return undefined;
}

/** A part of one queue message's events that the consumer folds atomically, under its own receipt. */
export interface FoldUnit {
  /** `<message id>#<n>`: the receipt written in the same transaction as the unit's counters. */
  receipt: string;
  /** The unit's foldable events (first occurrence of each id), whether or not this message claimed them. */
  events: UsageEvent[];
}

/**
 * Splits a message's foldable events into fold units, from the message alone: one tenant × meter per unit
 * and at most `maxItems` writes (its receipt, every counter and every distinct-value marker it could need),
 * neighbours together so that events of one hour share counters. A redelivery, however the batch around it
 * looks, makes the same units under the same receipts, so a receipt found tells that exactly those events
 * are already counted.
 */
export function foldUnits(messageId: string, events: readonly UsageEvent[], maxItems = MAX_ITEMS_PER_PLAN): FoldUnit[] {
  const sorted = [...events].sort(
    (a, b) =>
      compare(counterPartition(a), counterPartition(b)) ||
      compare(a.groupKey, b.groupKey) ||
      compare(a.timestamp, b.timestamp) ||
      compare(a.id, b.id),
  );
  const units: FoldUnit[] = [];
  let chunk: UsageEvent[] = [];
  let items = new Set<string>();
  for (const e of sorted) {
    const needs = writesOf(e);
    const added = needs.filter((k) => !items.has(k)).length;
    if (chunk.length > 0 && (counterPartition(chunk[0]!) !== counterPartition(e) || 1 + items.size + added > maxItems)) {
      units.push({ receipt: `${messageId}#${units.length}`, events: chunk });
      chunk = [];
      items = new Set();
    }
    chunk.push(e);
    for (const k of needs) items.add(k);
  }
  if (chunk.length > 0) units.push({ receipt: `${messageId}#${units.length}`, events: chunk });
  return units;
}

/** The two halves a unit DynamoDB refused is split into, each under a receipt of its own. */
export function halves(unit: FoldUnit): [FoldUnit, FoldUnit] {
  const half = Math.ceil(unit.events.length / 2);
  return [
    { receipt: `${unit.receipt}.0`, events: unit.events.slice(0, half) },
    { receipt: `${unit.receipt}.1`, events: unit.events.slice(half) },
  ];
}

/** The counters, markers and readings an event could write, leaving out markers `facts` knows are seen. */
export function writesOf(e: UsageEvent, facts: Facts = emptyFacts()): string[] {
  const keys: string[] = e.aggregation === 'TIME_WEIGHTED' ? [readingKey(readingOf(e))] : [];
  for (const ref of countersOf(e)) {
    keys.push(counterKey(ref));
    if (e.aggregation === 'UNIQUE_COUNT') {
      const mk = markerKey({ ...ref, value: e.value });
      if (!facts.seenMarkers.has(mk)) keys.push(mk);
    }
  }
  return keys;
}

/**
 * The counter deltas, new distinct-value markers and readings of `events`, leaving out what `facts` says is done.
 * A TIME_WEIGHTED counter only counts its events; its quantity comes from the readings.
 */
export function planFold(events: readonly UsageEvent[], facts: Facts): FoldPlan {
  const counters = new Map<
    string,
    { ref: CounterRef; aggregation: Aggregation; events: number; add: InstanceType<typeof Dec>; candidate?: Candidate }
  >();
  const markers = new Map<string, MarkerRef>();
  const readings = new Map<string, ReadingRef>();

  for (const e of events) {
    if (e.aggregation === 'TIME_WEIGHTED') readings.set(readingKey(readingOf(e)), readingOf(e));
    for (const ref of countersOf(e)) {
      const key = counterKey(ref);
      let c = counters.get(key);
      if (!c) {
        c = { ref, aggregation: e.aggregation, events: 0, add: new Dec(0) };
        counters.set(key, c);
      }
      c.events += 1;
      switch (e.aggregation) {
        case 'SUM':
        case 'AVG':
          c.add = c.add.plus(e.value);
          break;
        case 'COUNT':
          c.add = c.add.plus(1);
          break;
        case 'MAX':
          if (!c.candidate || new Dec(e.value).greaterThan(c.candidate.value)) c.candidate = { value: e.value, at: e.timestamp, id: e.id };
          break;
        case 'MIN':
          if (!c.candidate || new Dec(e.value).lessThan(c.candidate.value)) c.candidate = { value: e.value, at: e.timestamp, id: e.id };
          break;
        case 'LATEST':
          if (!c.candidate || newer(e, c.candidate)) c.candidate = { value: e.value, at: e.timestamp, id: e.id };
          break;
        case 'TIME_WEIGHTED':
          break;
        case 'UNIQUE_COUNT': {
          const marker: MarkerRef = { ...ref, value: e.value };
          const mk = markerKey(marker);
          if (!facts.seenMarkers.has(mk) && !markers.has(mk)) {
            markers.set(mk, marker);
            c.add = c.add.plus(1);
          }
          break;
        }
      }
    }
  }

  const deltas: CounterDelta[] = [];
  for (const c of counters.values()) {
    const delta: CounterDelta = { ...c.ref, aggregation: c.aggregation, events: c.events };
    if (keepsCandidate(c.aggregation)) {
      if (c.candidate && !facts.beaten.has(beatenKey(c.ref, c.candidate))) delta.candidate = c.candidate;
    } else if (c.aggregation !== 'TIME_WEIGHTED') {
      delta.add = c.add.toFixed();
    }
    deltas.push(delta);
  }
  return { events: [...events], counters: deltas, markers: [...markers.values()], readings: [...readings.values()] };
}

/** Aggregations whose counter stores one event's value, conditionally, instead of adding. */
export const keepsCandidate = (a: Aggregation): boolean => a === 'MAX' || a === 'MIN' || a === 'LATEST';

function newer(e: UsageEvent, c: Candidate): boolean {
  return e.timestamp > c.at || (e.timestamp === c.at && e.id > c.id);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
