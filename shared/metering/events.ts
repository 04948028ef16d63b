import { createHash } from 'node:crypto';
import { MAX_FRACTION_DIGITS, MAX_VALUE, parseDecimal } from '../kernel/decimal.js';
import type { EventRejectionCode } from '../kernel/errors.js';
import { firstIssue } from '../kernel/errors.js';
import { instantText } from '../kernel/instants.js';
import { canonicalJson, depthOf, type ExactNumber, exactNumberSchema, isExactNumber, isWellFormed } from '../kernel/json.js';
import * as z from '../kernel/zod-mini.js';
import type { Aggregation, Meter } from './meters.js';

export const MAX_EVENTS_PER_REQUEST = 1000;
export const MAX_REQUEST_BYTES = 1024 * 1024;
export const MAX_EVENT_BYTES = 32 * 1024;
/** How deeply `properties` (CloudEvents: `data`) may nest objects and arrays; DynamoDB's own limit for maps. */
export const MAX_PROPERTIES_DEPTH = 32;
/**
 * Group-by values and distinct values become parts of counter and marker sort keys, which DynamoDB caps at
 * 1,024 bytes: three percent-encoded group-by values of 64 bytes, their names and a 200-byte distinct value
 * fit with room to spare.
 */
export const MAX_GROUP_VALUE_BYTES = 64;
export const MAX_DISTINCT_VALUE_BYTES = 200;
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
  /**
   * The properties (CloudEvents: `data`) as JSON text, numbers exactly as sent. Text, not a map: no
   * property name, depth or shape can then trip a marshaller between ingest and the ledger.
   */
  properties?: string;
  /** SHA-256 of the payload as sent, key order and number spelling aside: a re-sent id is a duplicate only if it matches. */
  payloadHash: string;
  receivedAt: string;
}

/**
 * One key per event: its tenant and its id (a tenant id holds no `#`). The ledger's partition key, and the key that
 * finds a duplicate among a request's events.
 */
export const eventKey = (e: { tenantId: string; id: string }): string => `${e.tenantId}#${e.id}`;

const jsonObject = z.custom<Record<string, unknown>>(
  (v) => typeof v === 'object' && v !== null && !Array.isArray(v) && !isExactNumber(v),
  'expected an object',
);
const wellFormed = (max: number) =>
  z.string().check(z.minLength(1), z.maxLength(max), z.refine(isWellFormed, 'must be valid Unicode (no unpaired surrogate)'));
const eventId = wellFormed(128);
/** An event's value as sent: a JSON number (exact) or a decimal string, checked against the meter later. */
export const eventValueSchema = z.union([exactNumberSchema, z.string().check(z.maxLength(64))]);

/** The native shape: `{ id, meter, timestamp, value?, subject?, properties? }`. */
export const nativeEventSchema = z.strictObject({
  id: eventId,
  meter: z.string().check(z.minLength(1), z.maxLength(63)),
  timestamp: instantText,
  value: z.optional(eventValueSchema),
  subject: z.optional(wellFormed(256)),
  properties: z.optional(jsonObject),
});

/** CloudEvents 1.0 as OpenMeter ingests them: `type` names the meter, `data` holds the properties. */
export const cloudEventSchema = z.looseObject({
  specversion: z.literal('1.0'),
  id: eventId,
  source: z.string().check(z.minLength(1), z.maxLength(256)),
  type: z.string().check(z.minLength(1), z.maxLength(63)),
  time: z.optional(instantText),
  subject: z.optional(wellFormed(256)),
  data: z.optional(jsonObject),
});

interface RawEvent {
  id: string;
  meter: string;
  timestamp?: string;
  value?: ExactNumber | string;
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

/** The meter an event names before it is validated (native `meter`, CloudEvents `type`), if it names one. */
export function meterNamed(item: unknown): string | undefined {
  if (typeof item !== 'object' || item === null) return undefined;
  const name = isCloudEvent(item) ? (item as { type?: unknown }).type : (item as { meter?: unknown }).meter;
  return typeof name === 'string' ? name : undefined;
}

/**
 * Validates one event of a request. `item` comes from `parseJson`: numbers are exact source text. Depth
 * and size are checked before anything recursive (schema, serialisation) looks at the event.
 */
export function validateEvent(item: unknown, index: number, ctx: ValidationContext): EventResult {
  const reject = (code: EventRejectionCode, message: string, field?: string, id?: string): EventResult => ({
    index,
    status: 'rejected',
    code,
    message,
    ...(field ? { field } : {}),
    ...(id ? { id } : {}),
  });
  if (typeof item !== 'object' || item === null || Array.isArray(item) || isExactNumber(item)) {
    return reject('INVALID_EVENT', 'an event must be a JSON object');
  }
  const fields = item as Record<string, unknown>;
  const idOf = typeof fields.id === 'string' && fields.id.length <= 128 ? fields.id : undefined;

  for (const [name, v] of Object.entries(fields)) {
    if (depthOf(v, MAX_PROPERTIES_DEPTH) > MAX_PROPERTIES_DEPTH) {
      const code = name === 'properties' || name === 'data' ? 'INVALID_PROPERTIES' : 'INVALID_EVENT';
      return reject(code, `${name} nests deeper than ${MAX_PROPERTIES_DEPTH} levels`, name, idOf);
    }
  }
  const size = Buffer.byteLength(JSON.stringify(item));
  if (size > MAX_EVENT_BYTES) return reject('EVENT_TOO_LARGE', `event is ${size} bytes; the limit is ${MAX_EVENT_BYTES}`, undefined, idOf);

  const raw = parseRaw(item);
  if (!raw.ok) return reject('INVALID_EVENT', raw.message, raw.field, idOf);
  const e = raw.event;

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

  const value = resolveValue(meter, e, raw.valueField, raw.explicitValue);
  if (!value.ok) return reject('INVALID_VALUE', value.message, value.field, e.id);
  const group = groupKey(meter, e.properties, raw.propertiesField);
  if (!group.ok) return reject('INVALID_PROPERTIES', group.message, group.field, e.id);

  const event: UsageEvent = {
    tenantId: ctx.tenantId,
    id: e.id,
    meter: meter.key,
    aggregation: meter.aggregation,
    timestamp: new Date(at).toISOString(),
    value: value.value,
    groupKey: group.value,
    payloadHash: payloadHash(e),
    receivedAt: new Date(receivedAt).toISOString(),
  };
  if (e.subject !== undefined) event.subject = e.subject;
  if (e.properties !== undefined) event.properties = JSON.stringify(e.properties);
  return { index, id: e.id, status: 'valid', event };
}

/** What makes two events with one id the same event: everything they say, as sent, key order and number spelling aside. */
function payloadHash(e: RawEvent): string {
  const payload = {
    meter: e.meter,
    timestamp: e.timestamp === undefined ? null : new Date(Date.parse(e.timestamp)).toISOString(),
    value: e.value === undefined ? null : quantityText(e.value),
    subject: e.subject ?? null,
    properties: e.properties ?? null,
  };
  return createHash('sha256').update(canonicalJson(payload)).digest('base64url');
}

/** A quantity in one spelling ("5", "5.0" and 5e0 are one value); anything else as it was sent. */
function quantityText(v: ExactNumber | string): string {
  const text = isExactNumber(v) ? v.rawJSON : v.trim();
  return parseDecimal(text)?.toString() ?? text;
}

type Parsed =
  | {
      ok: true;
      event: RawEvent;
      meterField: string;
      timestampField: string;
      valueField: string;
      propertiesField: string;
      explicitValue: boolean;
    }
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
    if (ce.data && 'value' in ce.data) event.value = ce.data.value as ExactNumber | string;
    const fields = { meterField: 'type', timestampField: 'time', valueField: 'data.value', propertiesField: 'data' };
    // `data` is the application's payload: a `value` there is a quantity only for meters that read one.
    return { ok: true, event, ...fields, explicitValue: false };
  }
  const r = nativeEventSchema.safeParse(item);
  if (!r.success) return { ok: false, ...firstIssue(r.error) };
  const fields = { meterField: 'meter', timestampField: 'timestamp', valueField: 'value', propertiesField: 'properties' };
  return { ok: true, event: r.data as RawEvent, ...fields, explicitValue: r.data.value !== undefined };
}

type Resolved = { ok: true; value: string } | { ok: false; message: string; field: string };

function resolveValue(meter: Meter, e: RawEvent, defaultField: string, explicitValue: boolean): Resolved {
  if (meter.aggregation === 'COUNT') {
    // A COUNT meter counts each event once; a value other than 1 would be silently ignored, so it is refused.
    if (!explicitValue) return { ok: true, value: '1' };
    const q = parseQuantity(e.value, defaultField);
    if (!q.ok) return q;
    if (q.value !== '1') {
      return {
        ok: false,
        message: `meter "${meter.key}" counts events: value must be 1 or absent (a SUM meter adds quantities)`,
        field: defaultField,
      };
    }
    return q;
  }
  const fromProperty = meter.valueProperty !== undefined;
  const field = fromProperty ? `${defaultField.startsWith('data') ? 'data' : 'properties'}.${meter.valueProperty}` : defaultField;
  const raw = fromProperty ? ownProperty(e.properties, meter.valueProperty!) : e.value;
  if (raw === undefined || raw === null) {
    return { ok: false, message: `meter "${meter.key}" needs a value in ${field}`, field };
  }
  if (meter.aggregation === 'UNIQUE_COUNT') {
    const distinct = distinctText(raw);
    if (distinct === undefined || distinct.length === 0 || Buffer.byteLength(distinct) > MAX_DISTINCT_VALUE_BYTES) {
      return { ok: false, message: `a distinct value must be a string or number of 1 to ${MAX_DISTINCT_VALUE_BYTES} bytes`, field };
    }
    return { ok: true, value: distinct };
  }
  return parseQuantity(raw, field);
}

/** Accepts an exact JSON number or a decimal string, read from its text: never through a binary float. */
export function parseQuantity(raw: unknown, field: string): Resolved {
  const text = isExactNumber(raw) ? raw.rawJSON : typeof raw === 'string' ? raw.trim() : undefined;
  const d = text === undefined ? undefined : parseDecimal(text);
  if (d === undefined) {
    return { ok: false, message: 'value must be a finite number or a decimal string within range', field };
  }
  if (d.isNegative() && !d.isZero()) return { ok: false, message: 'value must not be negative', field };
  if (d.greaterThan(MAX_VALUE)) return { ok: false, message: `value must not exceed ${MAX_VALUE.toFixed()}`, field };
  if (d.decimalPlaces() > MAX_FRACTION_DIGITS) {
    return { ok: false, message: `value must have at most ${MAX_FRACTION_DIGITS} decimal places`, field };
  }
  return { ok: true, value: d.abs().toFixed() };
}

/**
 * A distinct value: a string as it is, or a number in its shortest exact decimal spelling (1.50 and 15e-1 are
 * "1.5"). Anything else (a boolean, an object, a number out of range) is not one.
 */
function distinctText(v: unknown): string | undefined {
  if (typeof v === 'string') return isWellFormed(v) ? v : undefined;
  if (isExactNumber(v)) return parseDecimal(v.rawJSON)?.toString();
  return undefined;
}

/** A group-by value: what a distinct value may be, or a boolean as text. */
const groupText = (v: unknown): string | undefined => (typeof v === 'boolean' ? String(v) : distinctText(v));

function ownProperty(props: Record<string, unknown> | undefined, name: string): unknown {
  return props !== undefined && Object.hasOwn(props, name) ? props[name] : undefined;
}

function groupKey(meter: Meter, props: Record<string, unknown> | undefined, propertiesField: string): Resolved {
  const parts: string[] = [];
  for (const dim of meter.groupBy) {
    const v = ownProperty(props, dim);
    const text = v === undefined || v === null ? '' : groupText(v);
    if (text === undefined || Buffer.byteLength(text) > MAX_GROUP_VALUE_BYTES) {
      const field = `${propertiesField}.${dim}`;
      return {
        ok: false,
        message: `a group-by value must be a string, number or boolean of at most ${MAX_GROUP_VALUE_BYTES} bytes`,
        field,
      };
    }
    parts.push(`${encodeURIComponent(dim)}=${encodeURIComponent(text)}`);
  }
  return { ok: true, value: parts.join('&') };
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
