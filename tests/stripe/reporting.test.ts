import { describe, expect, it } from 'vitest';
import { type ReportRecord, meterReporting, planMeterReport, reportDays, reportIdentifier, scaledQuantity, withinProviderWindow } from '../../shared/reporting.js';

const now = Date.parse('2026-11-23T01:00:00Z');
const orders = { key: 'orders', name: 'Orders', aggregation: 'COUNT' as const };
const storage = { key: 'storage_gb', name: 'Storage', aggregation: 'LATEST' as const };
const peak = { key: 'peak_gb', name: 'Peak', aggregation: 'MAX' as const };
const seats = { key: 'seats', name: 'Seats', aggregation: 'UNIQUE_COUNT' as const };
const day = (d: string, value: string, events = 1) => ({ day: d, value, events });
const reported = (d: string, value: string, sequence = 0): [string, ReportRecord] => [d, { day: d, reported: { value, sequence } }];

describe('report planning', () => {
  it('maps meters to Stripe meters: additive ones sum, the others keep the last value; fractional ones in thousandths', () => {
    expect(meterReporting(orders)).toMatchObject({ eventName: 'meterline_orders_count', formula: 'sum', scale: 1 });
    expect(meterReporting(storage)).toMatchObject({ eventName: 'meterline_storage_gb_latest', formula: 'last', scale: 1000 });
    expect(meterReporting(seats)).toMatchObject({ formula: 'last', scale: 1 });
    expect(scaledQuantity('12.3456', 1000)).toBe('12346');
    expect(scaledQuantity('0.0004', 1000)).toBe('0');
  });

  it('sends each unreported day once, at noon of that day, with a deterministic identifier', () => {
    const steps = planMeterReport({ tenantId: 'acme', meter: orders, days: [day('2026-11-21', '3'), day('2026-11-22', '5')], records: new Map(), now });
    expect(steps).toEqual([
      { kind: 'send', day: '2026-11-21', event: { eventName: 'meterline_orders_count', identifier: 'acme:orders:2026-11-21', timestamp: Date.parse('2026-11-21T12:00:00Z') / 1000, value: '3', after: { value: '3', sequence: 0 } } },
      expect.objectContaining({ kind: 'send', day: '2026-11-22', event: expect.objectContaining({ value: '5' }) }),
    ]);
  });

  it('skips reported days and sends growth as a numbered delta', () => {
    const records = new Map([reported('2026-11-21', '3'), reported('2026-11-22', '5', 1)]);
    const steps = planMeterReport({ tenantId: 'acme', meter: orders, days: [day('2026-11-21', '3'), day('2026-11-22', '7')], records, now });
    expect(steps[0]).toEqual({ kind: 'skip', day: '2026-11-21' });
    expect(steps[1]).toMatchObject({ kind: 'send', event: { identifier: 'acme:orders:2026-11-22:delta:2', value: '2', timestamp: Date.parse('2026-11-22T12:00:00Z') / 1000 + 2, after: { value: '7', sequence: 2 } } });
  });

  it('flags a fall in an additive meter instead of sending a negative event', () => {
    const steps = planMeterReport({ tenantId: 'acme', meter: { ...orders, aggregation: 'SUM' }, days: [day('2026-11-22', '1')], records: new Map([reported('2026-11-22', '2000')]), now });
    expect(steps[0]).toMatchObject({ kind: 'flag', code: 'NEGATIVE_CORRECTION', target: '1000' });
  });

  it("corrects only a gauge's latest day of the month, with the full value", () => {
    const records = new Map([reported('2026-11-20', '1000'), reported('2026-11-21', '2000')]);
    const days = [day('2026-11-20', '1.5'), day('2026-11-21', '2.5')];
    const steps = planMeterReport({ tenantId: 'acme', meter: storage, days, records, now });
    expect(steps).toEqual([{ kind: 'skip', day: '2026-11-20' }, expect.objectContaining({ kind: 'send', event: expect.objectContaining({ identifier: 'acme:storage_gb:2026-11-21:delta:1', value: '2500' }) })]);
  });

  it('reports a MAX meter as the running maximum of its month', () => {
    const steps = planMeterReport({ tenantId: 'acme', meter: peak, days: [day('2026-10-31', '9'), day('2026-11-01', '4'), day('2026-11-02', '3')], records: new Map(), now });
    expect(steps.map((s) => s.kind === 'send' && s.event.value)).toEqual(['9000', '4000', '4000']);
  });

  it("reports distinct counts as the month's value on its latest day", () => {
    const steps = planMeterReport({ tenantId: 'acme', meter: seats, days: [day('2026-11-20', '2'), day('2026-11-21', '2')], monthValues: new Map([['2026-11', '3']]), records: new Map(), now });
    expect(steps.map((s) => s.kind === 'send' && s.event.value)).toEqual(['2', '3']);
  });

  it("flags what falls outside Stripe's 35-day window, once per value", () => {
    const old = day('2026-10-15', '4');
    const [step] = planMeterReport({ tenantId: 'acme', meter: orders, days: [old], records: new Map(), now });
    expect(step).toMatchObject({ kind: 'flag', code: 'OUTSIDE_PROVIDER_WINDOW', target: '4' });
    expect(planMeterReport({ tenantId: 'acme', meter: orders, days: [old], records: new Map([['2026-10-15', { day: '2026-10-15', flagged: '4' }]]), now })).toEqual([{ kind: 'skip', day: '2026-10-15' }]);
  });

  it('keeps timestamps inside the window with a margin, never in the future', () => {
    expect(withinProviderWindow(now / 1000 - 35 * 86_400 + 7_200, now)).toBe(true);
    expect(withinProviderWindow(now / 1000 - 35 * 86_400 + 60, now)).toBe(false);
    expect(withinProviderWindow(now / 1000 + 301, now)).toBe(false);
    expect(reportDays(now)).toEqual({ from: '2026-10-09', to: '2026-11-22' });
  });

  it('hashes identifiers longer than Stripe accepts, deterministically', () => {
    const long = reportIdentifier('t'.repeat(63), 'm'.repeat(63), '2026-11-22', 3);
    expect(long).toMatch(/^mtl:[0-9a-f]{64}$/);
    expect(reportIdentifier('t'.repeat(63), 'm'.repeat(63), '2026-11-22', 3)).toBe(long);
  });
});
