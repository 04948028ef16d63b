import { Dec } from '../kernel/decimal.js';
import { ClientError } from '../kernel/errors.js';
import { canonicalJson, parseJson } from '../kernel/json.js';
import * as z from '../kernel/zod-mini.js';
import { type CounterDelta, counterKey, countersOf, type ReadingRef, readingOf, readingSort } from './aggregation.js';
import { eventValueSchema, type UsageEvent, validateEvent } from './events.js';
import type { Aggregation, Meter } from './meters.js';

/**
 * Corrections: a tenant or an admin voids a counted event or replaces its value or properties. The ledger entry
 * takes the new version, the correction record keeps both versions, and the counters move by the exact
 * difference, all in one atomic write that is idempotent by the correction id.
 *
 * Additive meters (SUM, COUNT, AVG: its counters keep a sum and a count) are corrected by a difference, and
 * TIME_WEIGHTED readings by replacing or deleting the reading's own item (the period is integrated when read). A
 * MAX, MIN, a LATEST reading or a distinct count cannot be taken back without reading the other events of its
 * counters, so those are refused.
 */
const correctable: readonly Aggregation[] = ['SUM', 'COUNT', 'AVG', 'TIME_WEIGHTED'];

function refuseUncorrectable(aggregation: Aggregation): void {
  if (!correctable.includes(aggregation)) {
    throw new ClientError(
      'CONFLICT',
      `events of ${aggregation} meters cannot be corrected; only SUM, COUNT, AVG and TIME_WEIGHTED events can`,
      'meter',
    );
  }
}
const correctionId = z.string().check(z.minLength(1), z.maxLength(128));
const reason = z.optional(z.string().check(z.minLength(1), z.maxLength(500)));

export const correctionRequestSchema = z.discriminatedUnion('action', [
  z.strictObject({ correctionId, action: z.literal('void'), reason }),
  z.strictObject({
    correctionId,
    action: z.literal('replace'),
    value: z.optional(eventValueSchema),
    properties: z.optional(z.record(z.string(), z.unknown())),
    reason,
  }),
]);
export type CorrectionRequest = z.infer<typeof correctionRequestSchema>;

export interface Correction {
  correctionId: string;
  tenantId: string;
  eventId: string;
  action: 'void' | 'replace';
  reason?: string;
  correctedAt: string;
  /** Who asked: `tenant` (its own key) or `admin`. */
  by: 'tenant' | 'admin';
  /** The event as it was counted before this correction. */
  before: UsageEvent;
  /** The event as it is counted after it; absent when voided. */
  after?: UsageEvent;
}

/** The corrected event, validated exactly as ingest validates an event (value, value property, group-by). */
export function correctedEvent(before: UsageEvent, meter: Meter, request: CorrectionRequest, now: number): UsageEvent | undefined {
  if (request.action === 'void') return undefined;
  refuseUncorrectable(meter.aggregation);
  if (request.value === undefined && request.properties === undefined)
    throw new ClientError('INVALID_REQUEST', 'replace needs a value or properties', 'value');
  const properties =
    request.properties ?? (before.properties === undefined ? undefined : (parseJson(before.properties) as Record<string, unknown>));
  const raw = {
    id: before.id,
    meter: before.meter,
    timestamp: before.timestamp,
    ...(before.subject !== undefined ? { subject: before.subject } : {}),
    ...(properties !== undefined ? { properties } : {}),
    // A COUNT meter's event has no value of its own; one sent is checked as ingest checks it (1 or nothing).
    ...(meter.valueProperty === undefined && (meter.aggregation !== 'COUNT' || request.value !== undefined)
      ? { value: request.value ?? before.value }
      : {}),
  };
  if (meter.valueProperty !== undefined && request.value !== undefined)
    raw.properties = { ...properties, [meter.valueProperty]: request.value };
  // Validated as ingest reads a body: numbers exact from their JSON text (the stored properties keep theirs).
  const checked = validateEvent(parseJson(JSON.stringify(raw)), 0, {
    tenantId: before.tenantId,
    meters: new Map([[meter.key, meter]]),
    now,
    oldestOpen: Number.NEGATIVE_INFINITY,
  });
  if (checked.status === 'rejected')
    throw new ClientError('INVALID_REQUEST', checked.message, checked.field === 'value' ? 'value' : checked.field);
  const after = { ...checked.event, timestamp: before.timestamp, receivedAt: before.receivedAt };
  if (countedAlike(before, after)) {
    throw new ClientError('NO_CHANGE', `event ${before.id} is already counted with this value and these properties; nothing to correct`);
  }
  return after;
}

/** Two versions of an event that move the same counters by the same amounts and say the same thing. */
function countedAlike(a: UsageEvent, b: UsageEvent): boolean {
  const props = (e: UsageEvent) => (e.properties === undefined ? '' : canonicalJson(parseJson(e.properties)));
  return a.value === b.value && a.groupKey === b.groupKey && props(a) === props(b);
}

/**
 * What the counters must add so they count `after` instead of `before`: each counter of the old version loses
 * the old value and one event, each counter of the new version gains the new value and one event; a counter
 * both touch gets the net difference. Counters left unchanged are left out.
 */
export function correctionDeltas(before: UsageEvent, after: UsageEvent | undefined): CounterDelta[] {
  refuseUncorrectable(before.aggregation);
  const deltas = new Map<string, { delta: CounterDelta; add: Dec }>();
  const apply = (e: UsageEvent, sign: 1 | -1) => {
    for (const ref of countersOf(e)) {
      const key = counterKey(ref);
      const entry = deltas.get(key) ?? { delta: { ...ref, aggregation: e.aggregation, events: 0 }, add: new Dec(0) };
      entry.delta.events += sign;
      entry.add = entry.add.plus(new Dec(e.value).times(sign));
      deltas.set(key, entry);
    }
  };
  apply(before, -1);
  if (after) apply(after, 1);
  // A TIME_WEIGHTED counter counts events only; its readings move by `correctionReadings`.
  const counted = before.aggregation === 'TIME_WEIGHTED';
  return [...deltas.values()]
    .filter((d) => d.delta.events !== 0 || (!counted && !d.add.isZero()))
    .map((d) => (counted ? d.delta : { ...d.delta, add: d.add.toFixed() }));
}

/** A TIME_WEIGHTED correction's reading writes: the new version put, the old one deleted unless the put replaces it. */
export function correctionReadings(before: UsageEvent, after: UsageEvent | undefined): { put?: ReadingRef; remove?: ReadingRef } {
  if (before.aggregation !== 'TIME_WEIGHTED') return {};
  const old = readingOf(before);
  if (!after) return { remove: old };
  const next = readingOf(after);
  return readingSort(next) === readingSort(old) ? { put: next } : { put: next, remove: old };
}
