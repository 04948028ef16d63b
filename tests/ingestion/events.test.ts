import { describe, expect, it } from 'vitest';
import { parseJson } from '../../shared/kernel/json.js';
import { eventsOf, meterNamed, type ValidationContext, validateEvent as validateParsed } from '../../shared/metering/events.js';
import type { Meter } from '../../shared/metering/meters.js';
import { seedMeters } from '../../shared/metering/seed-meters.js';

const now = Date.parse('2026-11-23T12:00:00Z');
const meters = new Map<string, Meter>(
  [
    ...seedMeters,
    { key: 'tokens', name: 'Tokens', unit: 'token', aggregation: 'SUM', valueProperty: 'tokens', groupBy: ['model'] },
    { key: 'gpu_seconds', name: 'GPU', unit: 's', aggregation: 'SUM', groupBy: [] },
  ].map((m) => [m.key, m as Meter]),
);
const ctx: ValidationContext = { tenantId: 'acme', meters, now, oldestOpen: Date.parse('2026-11-01T00:00:00Z') };
const at = '2026-11-23T11:59:00Z';

/** Events reach validation as ingest reads them: numbers exact, from their JSON text. */
const validateEvent = (item: unknown, index: number, context: ValidationContext) =>
  validateParsed(parseJson(JSON.stringify(item)), index, context);

function rejection(item: unknown) {
  const r = validateParsed(parseJson(JSON.stringify(item)), 0, ctx);
  if (r.status !== 'rejected') throw new Error(`expected a rejection, got ${JSON.stringify(r)}`);
  return { code: r.code, field: r.field };
}

describe('validateEvent', () => {
  it('normalises a native event and stamps the tenant from the context', () => {
    const r = validateEvent(
      { id: 'e1', meter: 'tokens', timestamp: '2026-11-23T12:59:00+01:00', properties: { tokens: 1500, model: 'large' } },
      0,
      ctx,
    );
    expect(r).toMatchObject({
      status: 'valid',
      event: {
        tenantId: 'acme',
        id: 'e1',
        meter: 'tokens',
        aggregation: 'SUM',
        value: '1500',
        groupKey: 'model=large',
        timestamp: '2026-11-23T11:59:00.000Z',
      },
    });
  });

  it('accepts CloudEvents: type is the meter, data holds the properties, time defaults to receipt', () => {
    const r = validateEvent(
      { specversion: '1.0', id: 'c1', source: 'api', type: 'seats', subject: 'org-1', data: { user_id: 'u-7' } },
      0,
      ctx,
    );
    expect(r).toMatchObject({
      status: 'valid',
      event: { meter: 'seats', value: 'u-7', subject: 'org-1', timestamp: new Date(now).toISOString() },
    });
  });

  it('keeps decimal values exact and never parses decimal strings as floats', () => {
    const r = validateEvent({ id: 'g', meter: 'gpu_seconds', timestamp: at, value: '0.100000000001' }, 0, ctx);
    expect(r).toMatchObject({ event: { value: '0.100000000001' } });
    expect(validateEvent({ id: 'g2', meter: 'gpu_seconds', timestamp: at, value: 1e-7 }, 0, ctx)).toMatchObject({
      event: { value: '0.0000001' },
    });
  });

  it('counts COUNT meters as one, and refuses an explicit value other than 1', () => {
    expect(validateEvent({ id: 'o', meter: 'orders', timestamp: at }, 0, ctx)).toMatchObject({ event: { value: '1' } });
    expect(validateEvent({ id: 'o', meter: 'orders', timestamp: at, value: '1.000' }, 0, ctx)).toMatchObject({ event: { value: '1' } });
    for (const value of [7, -5, 'abc', 0])
      expect(rejection({ id: 'o', meter: 'orders', timestamp: at, value })).toEqual({ code: 'INVALID_VALUE', field: 'value' });
  });

  it.each([
    [{ meter: 'orders', timestamp: at }, 'INVALID_EVENT', 'id'],
    [{ id: 'x', meter: 'orders', timestamp: 'yesterday' }, 'INVALID_EVENT', 'timestamp'],
    [{ id: 'x', meter: 'orders', timestamp: at, colour: 'red' }, 'INVALID_EVENT', 'colour'],
    [{ id: 'x', meter: 'orders', timestamp: '0099-11-23T12:00:00Z' }, 'INVALID_EVENT', 'timestamp'],
    [{ id: 'x', meter: 'nope', timestamp: at }, 'UNKNOWN_METER', 'meter'],
    [{ id: 'x', meter: 'orders', timestamp: '2026-11-23T12:06:00Z' }, 'TIMESTAMP_IN_FUTURE', 'timestamp'],
    [{ id: 'x', meter: 'orders', timestamp: '2026-10-31T23:59:59Z' }, 'TIMESTAMP_TOO_OLD', 'timestamp'],
    [{ id: 'x', meter: 'gpu_seconds', timestamp: at, value: -1 }, 'INVALID_VALUE', 'value'],
    [{ id: 'x', meter: 'gpu_seconds', timestamp: at, value: 'Infinity' }, 'INVALID_VALUE', 'value'],
    [{ id: 'x', meter: 'gpu_seconds', timestamp: at, value: 'NaN' }, 'INVALID_VALUE', 'value'],
    [{ id: 'x', meter: 'gpu_seconds', timestamp: at }, 'INVALID_VALUE', 'value'],
    [{ id: 'x', meter: 'gpu_seconds', timestamp: at, value: '1e19' }, 'INVALID_VALUE', 'value'],
    [{ id: 'x', meter: 'gpu_seconds', timestamp: at, value: '5e-9000000000000000000' }, 'INVALID_VALUE', 'value'],
    [{ id: 'x', meter: 'gpu_seconds', timestamp: at, value: '5e9000000000000000000' }, 'INVALID_VALUE', 'value'],
    [{ id: 'x', meter: 'seats', timestamp: at, properties: { user_id: true } }, 'INVALID_VALUE', 'properties.user_id'],
    [{ id: 'x', meter: 'tokens', timestamp: at, properties: { tokens: '12abc' } }, 'INVALID_VALUE', 'properties.tokens'],
    [{ id: 'x', meter: 'seats', timestamp: at, properties: {} }, 'INVALID_VALUE', 'properties.user_id'],
    [{ specversion: '1.0', id: 'x', source: 's', type: 'tokens', data: { tokens: -5 } }, 'INVALID_VALUE', 'data.tokens'],
    [{ specversion: '0.3', id: 'x', source: 's', type: 'orders' }, 'INVALID_EVENT', 'specversion'],
    [{ id: 'x', meter: 'orders', timestamp: at, properties: { blob: 'x'.repeat(40_000) } }, 'EVENT_TOO_LARGE', undefined],
    ['just a string', 'INVALID_EVENT', undefined],
  ])('rejects case %# (%$)', (item, code, field) => {
    expect(rejection(item)).toEqual({ code, field });
  });
});

describe('group-by and distinct values', () => {
  const tokens = (properties: unknown) => validateEvent({ id: 't', meter: 'tokens', timestamp: at, properties }, 0, ctx);

  it('groups by a string, a number in its one spelling, or a boolean as text; a missing or null value is the empty group', () => {
    const group = (model: unknown) => {
      const r = tokens({ tokens: 1, model });
      return r.status === 'valid' ? r.event.groupKey : r;
    };
    expect(group('large')).toBe('model=large');
    expect(group(1.5)).toBe('model=1.5');
    expect(
      validateParsed(
        parseJson('{"id":"t","meter":"tokens","timestamp":"2026-11-23T11:59:00Z","properties":{"tokens":1,"model":15e-1}}'),
        0,
        ctx,
      ),
    ).toMatchObject({
      event: { groupKey: 'model=1.5' },
    });
    expect(group(true)).toBe('model=true');
    expect(group(null)).toBe('model=');
    expect(validateEvent({ id: 't', meter: 'ai_jobs', timestamp: at }, 0, ctx)).toMatchObject({ event: { groupKey: 'job_type=' } });
  });

  it('refuses a group-by value that is an object or longer than its limit, naming the property where it was sent', () => {
    expect(rejection({ id: 't', meter: 'tokens', timestamp: at, properties: { tokens: 1, model: { name: 'x' } } })).toEqual({
      code: 'INVALID_PROPERTIES',
      field: 'properties.model',
    });
    expect(rejection({ id: 't', meter: 'tokens', timestamp: at, properties: { tokens: 1, model: 'm'.repeat(65) } })).toEqual({
      code: 'INVALID_PROPERTIES',
      field: 'properties.model',
    });
    expect(rejection({ specversion: '1.0', id: 'c', source: 's', type: 'tokens', data: { tokens: 1, model: ['a'] } })).toEqual({
      code: 'INVALID_PROPERTIES',
      field: 'data.model',
    });
  });

  it('takes a distinct number in its one spelling, and refuses a string that is not well-formed Unicode', () => {
    expect(
      validateParsed(parseJson('{"id":"s","meter":"seats","timestamp":"2026-11-23T11:59:00Z","properties":{"user_id":7.50}}'), 0, ctx),
    ).toMatchObject({
      event: { value: '7.5' },
    });
    expect(rejection({ id: 's', meter: 'seats', timestamp: at, properties: { user_id: 'u\uD800' } })).toEqual({
      code: 'INVALID_VALUE',
      field: 'properties.user_id',
    });
  });

  it('refuses a field other than the properties nested too deep as an invalid event, naming it', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 40; i++) deep = [deep];
    expect(rejection({ id: 'd', meter: 'orders', timestamp: at, subject: deep })).toEqual({ code: 'INVALID_EVENT', field: 'subject' });
    expect(rejection({ id: 'd', meter: 'orders', timestamp: at, properties: { deep } })).toEqual({
      code: 'INVALID_PROPERTIES',
      field: 'properties',
    });
  });
});

describe('meterNamed', () => {
  it('reads the meter a native or CloudEvents event names before it is validated, and none of anything else', () => {
    expect(meterNamed({ meter: 'orders' })).toBe('orders');
    expect(meterNamed({ specversion: '1.0', type: 'seats' })).toBe('seats');
    expect(meterNamed({ meter: 7 })).toBeUndefined();
    expect(meterNamed('orders')).toBeUndefined();
    expect(meterNamed(null)).toBeUndefined();
  });
});

describe('eventsOf', () => {
  it('reads one event, an array, or { events }', () => {
    expect(eventsOf({ id: 'a' })).toHaveLength(1);
    expect(eventsOf([{ id: 'a' }, { id: 'b' }])).toHaveLength(2);
    expect(eventsOf({ events: [{ id: 'a' }] })).toHaveLength(1);
    expect(eventsOf('nope')).toBeUndefined();
  });
});
