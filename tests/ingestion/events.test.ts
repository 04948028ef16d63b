import { describe, expect, it } from 'vitest';
import { parseJson } from '../../shared/kernel/json.js';
import { eventsOf, type ValidationContext, validateEvent as validateParsed } from '../../shared/metering/events.js';
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

describe('eventsOf', () => {
  it('reads one event, an array, or { events }', () => {
    expect(eventsOf({ id: 'a' })).toHaveLength(1);
    expect(eventsOf([{ id: 'a' }, { id: 'b' }])).toHaveLength(2);
    expect(eventsOf({ events: [{ id: 'a' }] })).toHaveLength(1);
    expect(eventsOf('nope')).toBeUndefined();
  });
});
