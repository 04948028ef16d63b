import { describe, expect, it } from 'vitest';
import type { Granularity, Period } from '../../shared/kernel/periods.js';
import type { Meter } from '../../shared/metering/meters.js';
import {
  billedQuantity,
  bucketCounters,
  type CounterRange,
  meterQuantities,
  timeWeightedSeries,
} from '../../shared/metering/period-usage.js';
import type { CounterReads, GaugeReadings } from '../../shared/metering/ports.js';

/**
 * The billing read's edge cases over counters given by hand (granularity → rows by period key): every quantity
 * below is computed by hand from the rows.
 */
type Row = { period: string; value: string; events: number };
function reads(o: { rows?: Partial<Record<Granularity, Row[]>>; distinct?: number; levelBefore?: string; readings?: GaugeReadings[] }) {
  const asked: string[] = [];
  const r: CounterReads = {
    values: async (_t, _m, granularity, from, to) => {
      asked.push(`values ${granularity} ${from}..${to}`);
      return (o.rows?.[granularity] ?? []).filter((row) => row.period >= from && row.period <= to);
    },
    levelBefore: async (_t, _m, instant) => {
      asked.push(`levelBefore ${new Date(instant).toISOString()}`);
      return o.levelBefore;
    },
    distinctValues: async (_t, _m, ranges: readonly CounterRange[]) => {
      asked.push(`distinct ${ranges.map((x) => `${x.granularity} ${x.from}..${x.to}`).join(', ')}`);
      return o.distinct ?? 0;
    },
    readings: async (_t, _m, from, to) => {
      asked.push(`readings ${new Date(from).toISOString()}..${new Date(to).toISOString()}`);
      return o.readings ?? [];
    },
  };
  return { r, asked };
}

const t = (iso: string) => Date.parse(iso);
const meter = (aggregation: Meter['aggregation'], extra: Partial<Meter> = {}): Meter => ({
  key: 'm',
  name: 'M',
  unit: 'unit',
  aggregation,
  groupBy: [],
  ...extra,
});
const twoDays: Period = { start: t('2026-03-10T00:00:00Z'), end: t('2026-03-12T00:00:00Z') };
const march: Period = { start: t('2026-03-01T00:00:00Z'), end: t('2026-04-01T00:00:00Z') };
const days = {
  day: [
    { period: '2026-03-10', value: '7', events: 3 },
    { period: '2026-03-11', value: '12', events: 1 },
  ],
};

describe('billed quantity', () => {
  it('takes the largest counter for MAX and adds them for SUM; a period without counters is 0', async () => {
    expect(await billedQuantity(reads({ rows: days }).r, 'acme', meter('MAX'), twoDays, twoDays.end)).toBe('12');
    expect(await billedQuantity(reads({ rows: days }).r, 'acme', meter('SUM'), twoDays, twoDays.end)).toBe('19');
    expect(await billedQuantity(reads({}).r, 'acme', meter('MAX'), twoDays, twoDays.end)).toBe('0');
  });

  it('reads UNIQUE_COUNT from the month counter for a UTC calendar month, and from the markers for any other period', async () => {
    const month = reads({ rows: { month: [{ period: '2026-03', value: '42', events: 90 }] }, distinct: 5 });
    expect(await billedQuantity(month.r, 'acme', meter('UNIQUE_COUNT'), march, march.end)).toBe('42');
    expect(month.asked).toEqual(['values month 2026-03..2026-03']);
    expect(await billedQuantity(reads({}).r, 'acme', meter('UNIQUE_COUNT'), march, march.end)).toBe('0');
    const stretch = reads({ distinct: 5 });
    expect(await billedQuantity(stretch.r, 'acme', meter('UNIQUE_COUNT'), twoDays, twoDays.end)).toBe('5');
    expect(stretch.asked).toEqual(['distinct day 2026-03-10..2026-03-11']);
  });

  it('bills 0 for a TIME_WEIGHTED period that has not begun, without reading anything', async () => {
    const { r, asked } = reads({ readings: [{ groupKey: '', readings: [{ at: '2026-03-10T01:00:00Z', id: 'a', value: '9' }] }] });
    expect(await billedQuantity(r, 'acme', meter('TIME_WEIGHTED', { per: 'hour' }), twoDays, twoDays.start)).toBe('0');
    expect(asked).toEqual([]);
  });

  it('lets the greater id hold when two readings share an instant, whatever order they come in', async () => {
    // 0 for 6 hours, then 4 (id b beats id a's 10) for 42 hours: 168 unit-hours.
    const tied = [
      { at: '2026-03-10T06:00:00Z', id: 'b', value: '4' },
      { at: '2026-03-10T06:00:00Z', id: 'a', value: '10' },
    ];
    for (const order of [tied, [...tied].reverse()]) {
      const { r } = reads({ readings: [{ groupKey: '', readings: order }] });
      expect(await billedQuantity(r, 'acme', meter('TIME_WEIGHTED', { per: 'hour' }), twoDays, twoDays.end)).toBe('168');
      expect(timeWeightedSeries([{ groupKey: '', readings: order }], [twoDays], twoDays.end, 'hour')).toEqual(['168']);
    }
  });
});

describe('time-weighted series', () => {
  it('carries each bucket the level of the last reading before it, stops at asOf, and answers 0 for buckets not begun', () => {
    const d = (day: string): Period => ({ start: t(`2026-03-${day}T00:00:00Z`), end: t(`2026-03-${day}T00:00:00Z`) + 86_400_000 });
    const groups: GaugeReadings[] = [
      {
        groupKey: '',
        before: { at: '2026-03-01T00:00:00Z', id: 'z', value: '1' },
        readings: [
          { at: '2026-03-10T12:00:00Z', id: 'a', value: '2' },
          { at: '2026-03-11T06:00:00Z', id: 'b', value: '4' },
        ],
      },
    ];
    // Day 10: 1 × 12 h + 2 × 12 h = 36. Day 11 until 12:00: 2 × 6 h + 4 × 6 h = 36. Day 12: not begun.
    expect(timeWeightedSeries(groups, [d('10'), d('11'), d('12')], t('2026-03-11T12:00:00Z'), 'hour')).toEqual(['36', '36', '0']);
  });
});

describe('bucket counters', () => {
  const buckets = [
    twoDays,
    { start: twoDays.end, end: twoDays.end + 2 * 86_400_000 },
    { start: twoDays.end + 2 * 86_400_000, end: twoDays.end + 3 * 86_400_000 },
  ];
  const rows: Row[] = [
    { period: '2026-03-10', value: '3', events: 1 },
    { period: '2026-03-11', value: '9', events: 2 },
    { period: '2026-03-12', value: '0', events: 0 },
    { period: '2026-03-13', value: '5', events: 4 },
  ];
  const read = async (_g: Granularity, from: string, to: string) => rows.filter((r) => r.period >= from && r.period <= to);

  it('takes the extremes for MAX and MIN (MIN only over counters that counted an event) and the newest for LATEST', async () => {
    expect(await bucketCounters(read, 'MAX', buckets)).toEqual([{ value: '9', events: 3 }, { value: '5', events: 4 }, undefined]);
    expect(await bucketCounters(read, 'MIN', buckets)).toEqual([{ value: '3', events: 3 }, { value: '5', events: 4 }, undefined]);
    expect(await bucketCounters(read, 'LATEST', buckets)).toEqual([{ value: '9', events: 3 }, { value: '5', events: 4 }, undefined]);
  });

  it('gives a MIN bucket whose counters counted no event the value 0', async () => {
    const empty = async () => [{ period: '2026-03-10', value: '0', events: 0 }];
    expect(await bucketCounters(empty, 'MIN', [{ start: twoDays.start, end: twoDays.start + 86_400_000 }])).toEqual([
      { value: '0', events: 0 },
    ]);
  });
});

describe('gauge levels', () => {
  const at = t('2026-03-10T06:20:00Z');

  it("sums each group's newest reading at or before the instant for a TIME_WEIGHTED meter", async () => {
    const { r, asked } = reads({
      readings: [
        { groupKey: 'region=eu', before: { at: '2026-03-10T06:20:00Z', id: 'a', value: '3' }, readings: [] },
        { groupKey: 'region=us', before: { at: '2026-03-09T00:00:00Z', id: 'b', value: '4.5' }, readings: [] },
        { groupKey: 'region=ap', readings: [] },
      ],
    });
    expect(await meterQuantities(r).level('acme', meter('TIME_WEIGHTED', { per: 'hour' }), at)).toBe('7.5');
    expect(asked).toEqual(['readings 2026-03-10T06:20:00.001Z..2026-03-10T06:20:00.001Z']);
  });

  it("reads a LATEST gauge's level as the newest reading of the instant's hour or before, 0 without one", async () => {
    const { r, asked } = reads({ levelBefore: '45' });
    expect(await meterQuantities(r).level('acme', meter('LATEST'), at)).toBe('45');
    expect(asked).toEqual(['levelBefore 2026-03-10T07:00:00.000Z']);
    expect(await meterQuantities(reads({}).r).level('acme', meter('LATEST'), at)).toBe('0');
  });
});
