import { z } from 'zod';
import { Dec, MAX_FRACTION_DIGITS, MAX_VALUE } from '../kernel/decimal.js';
import type { EventRejectionCode } from '../kernel/errors.js';
import { firstIssue } from '../kernel/errors.js';
import type { Aggregation, Meter } from './meters.js';

export const MAX_EVENTS_PER_REQUEST = 1000;
export const MAX_REQUEST_BYTES = 1024 * 1024;
export const MAX_EVENT_BYTES = 32 * 1024;
/** Events stamped further ahead than this are clock errors, not usage. */
export const MAX_FUTURE_MS = 5 * 60_000;

/**
 * An event as Meterline stores and counts it: validated, stamped with its tenant, and with the
 * meter's aggregation, value and group already resolved, so the consumer needs no configuration.
 */
export interface UsageEvent {
  tenantId: string;
  id: string;
  meter: string;
  aggregation: Aggregation;
  /** ISO 8601 UTC with milliseconds. */
  timestamp: string;
  /** A decimal string; for UNIQUE_COUNT the distinct value itself; "1" for COUNT. */
  value: string;
  /** "" or the meter's group-by values, "region=eu&model=large" in the meter's order. */
  groupKey: string;
  subject?: string;
  properties?: Record<string, unknown>;
  receivedAt: string;
}

const eventId = z.string().min(1).max(128);
const properties = z.record(z.string(), z.unknown());
const rawValue = z.union([z.number(), z.string().max(64)]);

/** The native shape: `{ id, meter, timestamp, value?, subject?, properties? }`. */
const nativeEventSchema = z.strictObject({
  id: eventId,
  meter: z.string().min(1).max(63),
  timestamp: z.iso.datetime({ offset: true }),
  value: rawValue.optional(),
  subject: z.string().min(1).max(256).optional(),
  properties: properties.optional(),
});

/** CloudEvents 1.0 as OpenMeter ingests them: `type` names the meter, `data` holds the properties. */
const cloudEventSchema = z.looseObject({
  specversion: z.literal('1.0'),
  id: eventId,
  source: z.string().min(1).max(256),
  type: z.string().min(1).max(63),
  time: z.iso.datetime({ offset: true }).optional(),
  subject: z.string().min(1).max(256).optional(),
  data: properties.optional(),
});

interface RawEvent {
  id: string;
  meter: string;
  timestamp?: string;
  value?: number | string;
  subject?: string;
  properties?: Record<string, unknown>;
}

export type EventResult =
  | { index: number; id: string; status: 'valid'; event: UsageEvent }
  | { index: number; id?: string; status: 'rejected'; code: EventRejectionCode; message: string; field?: string };

export interface ValidationContext {
  tenantId: string;
  meters: ReadonlyMap<string, Meter>;
  now: number;
  /** Events older than this instant belong to a closed period. */
  oldestOpen: number;
}

export function isCloudEvent(item: unknown): boolean {
  return typeof item === 'object' && item !== null && 'specversion' in item;
}

export function validateEvent(item: unknown, index: number, ctx: ValidationContext): EventResult {
  const reject = (code: EventRejectionCode, message: string, field?: string, id?: string): EventResult => ({
    index,
    status: 'rejected',
    code,
    message,
    ...(field ? { field } : {}),
    ...(id ? { id } : {}),
  });
  const idOf =
    typeof item === 'object' && item !== null && typeof (item as { id?: unknown }).id === 'string'
      ? (item as { id: string }).id
      : undefined;

  const raw = parseRaw(item);
  if (!raw.ok) return reject('INVALID_EVENT', raw.message, raw.field, idOf);
  const e = raw.event;

  const size = Buffer.byteLength(JSON.stringify(item));
  if (size > MAX_EVENT_BYTES) return reject('EVENT_TOO_LARGE', `event is ${size} bytes; the limit is ${MAX_EVENT_BYTES}`, undefined, e.id);

  const meter = ctx.meters.get(e.meter);
  if (!meter) return reject('UNKNOWN_METER', `meter "${e.meter}" is not defined for this tenant`, raw.meterField, e.id);

  const receivedAt = ctx.now;
  const at = e.timestamp === undefined ? receivedAt : Date.parse(e.timestamp);
  if (at > ctx.now + MAX_FUTURE_MS) {
    return reject('TIMESTAMP_IN_FUTURE', 'timestamp is more than 5 minutes in the future', raw.timestampField, e.id);
  }
  if (at < ctx.oldestOpen) {
    return reject(
      'TIMESTAMP_TOO_OLD',
      `timestamp is before ${new Date(ctx.oldestOpen).toISOString()}, whose period is closed`,
      raw.timestampField,
      e.id,
    );
  }

  const value = resolveValue(meter, e, raw.valueField);
  if (!value.ok) return reject('INVALID_VALUE', value.message, value.field, e.id);

  const event: UsageEvent = {
    tenantId: ctx.tenantId,
    id: e.id,
    meter: meter.key,
    aggregation: meter.aggregation,
    timestamp: new Date(at).toISOString(),
    value: value.value,
    groupKey: groupKey(meter, e.properties),
    receivedAt: new Date(receivedAt).toISOString(),
  };
  if (e.subject !== undefined) event.subject = e.subject;
  if (e.properties !== undefined) event.properties = e.properties;
  return { index, id: e.id, status: 'valid', event };
}

type Parsed =
  | { ok: true; event: RawEvent; meterField: string; timestampField: string; valueField: string }
  | { ok: false; message: string; field?: string };

function parseRaw(item: unknown): Parsed {
  if (isCloudEvent(item)) {
    const r = cloudEventSchema.safeParse(item);
    if (!r.success) return { ok: false, ...firstIssue(r.error) };
    const ce = r.data;
    const event: RawEvent = { id: ce.id, meter: ce.type };
    if (ce.time !== undefined) event.timestamp = ce.time;
    if (ce.subject !== undefined) event.subject = ce.subject;
    if (ce.data !== undefined) event.properties = ce.data;
    if (ce.data && 'value' in ce.data) event.value = ce.data.value as number | string;
    return { ok: true, event, meterField: 'type', timestampField: 'time', valueField: 'data.value' };
  }
  const r = nativeEventSchema.safeParse(item);
  if (!r.success) return { ok: false, ...firstIssue(r.error) };
  return { ok: true, event: r.data as RawEvent, meterField: 'meter', timestampField: 'timestamp', valueField: 'value' };
}

type Resolved = { ok: true; value: string } | { ok: false; message: string; field: string };

function resolveValue(meter: Meter, e: RawEvent, defaultField: string): Resolved {
  if (meter.aggregation === 'COUNT') return { ok: true, value: '1' };
  const fromProperty = meter.valueProperty !== undefined;
  const field = fromProperty ? `${defaultField.startsWith('data') ? 'data' : 'properties'}.${meter.valueProperty}` : defaultField;
  const raw = fromProperty ? e.properties?.[meter.valueProperty!] : e.value;
  if (raw === undefined || raw === null) {
    return { ok: false, message: `meter "${meter.key}" needs a value in ${field}`, field };
  }
  if (meter.aggregation === 'UNIQUE_COUNT') {
    if ((typeof raw !== 'string' && typeof raw !== 'number') || String(raw).length === 0 || String(raw).length > 256) {
      return { ok: false, message: 'a distinct value must be a string or number of 1 to 256 characters', field };
    }
    return { ok: true, value: String(raw) };
  }
  return parseQuantity(raw, field);
}

const decimalText = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Accepts a JSON number or a decimal string; exactness matters, so strings are never parsed as floats. */
export function parseQuantity(raw: unknown, field: string): Resolved {
  const text = typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? raw.trim() : undefined;
  if (text === undefined || !decimalText.test(text)) {
    return { ok: false, message: 'value must be a finite number or a decimal string', field };
  }
  const d = new Dec(text);
  if (d.isNegative() && !d.isZero()) return { ok: false, message: 'value must not be negative', field };
  if (d.greaterThan(MAX_VALUE)) return { ok: false, message: `value must not exceed ${MAX_VALUE.toFixed()}`, field };
  if (d.decimalPlaces() > MAX_FRACTION_DIGITS) {
    return { ok: false, message: `value must have at most ${MAX_FRACTION_DIGITS} decimal places`, field };
  }
  return { ok: true, value: d.abs().toFixed() };
}

function groupKey(meter: Meter, props: Record<string, unknown> | undefined): string {
  if (meter.groupBy.length === 0) return '';
  return meter.groupBy
    .map((dim) => {
      const v = props?.[dim];
      return `${encodeURIComponent(dim)}=${v === undefined || v === null ? '' : encodeURIComponent(String(v))}`;
    })
    .join('&');
}

/** Splits a request body into its events: one object, an array, or `{ events: [...] }`. */
export function eventsOf(body: unknown): unknown[] | undefined {
  if (Array.isArray(body)) return body;
  if (typeof body === 'object' && body !== null) {
    const events = (body as { events?: unknown }).events;
    if (Array.isArray(events) && !('id' in body)) return events;
    return [body];
  }
  return undefined;
}
