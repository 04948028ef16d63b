import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { charge } from '../../shared/billing/pricing.js';
import { billedUnit } from '../../shared/billing/units.js';
import { Dec } from '../../shared/kernel/decimal.js';
import { roundMoney } from '../../shared/kernel/money.js';
import type { Granularity, Period } from '../../shared/kernel/periods.js';
import { counterKey, emptyFacts, foldUnits, planFold, type ReadingRef, readingKey } from '../../shared/metering/aggregation.js';
import { correctionDeltas, correctionReadings } from '../../shared/metering/corrections.js';
import type { UsageEvent } from '../../shared/metering/events.js';
import { type Aggregation, type Meter, meterDefinitionSchema } from '../../shared/metering/meters.js';
import { billedQuantity, meterQuantities } from '../../shared/metering/period-usage.js';
import type { CounterReads, GaugeReadings } from '../../shared/metering/ports.js';

/**
 * AVG, MIN and TIME_WEIGHTED meters, folded by the consumer's own plans (planFold, in fold units as a message makes
 * them) into an in-memory counters table that keeps DynamoDB's conditions, corrected by the correction path's
 * deltas, and read back by the billing read (billedQuantity). Every quantity below is computed by hand.
 */
class Counters implements CounterReads {
  readonly counters = new Map<string, { granularity: Granularity; period: string; groupKey: string; value?: Dec; events: number }>();
  readonly readingItems = new Map<string, ReadingRef>();

  fold(events: readonly UsageEvent[]): void {
    for (const unit of foldUnits('message', events)) {
      const plan = planFold(unit.events, emptyFacts());
      for (const d of plan.counters) {
        const key = counterKey(d);
        const c = this.counters.get(key) ?? { granularity: d.granularity, period: d.period, groupKey: d.groupKey, events: 0 };
        c.events += d.events;
        if (d.add !== undefined) c.value = (c.value ?? new Dec(0)).plus(d.add);
        if (d.candidate) {
          const v = new Dec(d.candidate.value);
          // The conditions counterUpdate writes: MAX only when larger, MIN only when smaller.
          if (c.value === undefined || (d.aggregation === 'MAX' ? v.greaterThan(c.value) : v.lessThan(c.value))) c.value = v;
        }
        this.counters.set(key, c);
      }
      for (const r of plan.readings) this.readingItems.set(readingKey(r), r);
    }
  }

  correct(before: UsageEvent, after: UsageEvent | undefined): void {
    for (const d of correctionDeltas(before, after)) {
      const c = this.counters.get(counterKey(d))!;
      c.events += d.events;
      if (d.add !== undefined) c.value = (c.value ?? new Dec(0)).plus(d.add);
    }
    const { put, remove } = correctionReadings(before, after);
    if (remove) this.readingItems.delete(readingKey(remove));
    if (put) this.readingItems.set(readingKey(put), put);
  }

  async values(_tenantId: string, _meter: string, granularity: Granularity, from: string, to: string) {
    return [...this.counters.values()]
      .filter((c) => c.groupKey === '' && c.granularity === granularity && c.period >= from && c.period <= to)
      .map((c) => ({ period: c.period, value: c.value?.toFixed() ?? '0', events: c.events }));
  }

  async levelBefore(): Promise<string | undefined> {
    throw new Error('LATEST is not read here');
  }

  async distinctValues(): Promise<number> {
    throw new Error('UNIQUE_COUNT is not read here');
  }

  async readings(_tenantId: string, _meter: string, from: number, to: number): Promise<GaugeReadings[]> {
    const groups = new Map<string, GaugeReadings>();
    const sorted = [...this.readingItems.values()].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.id < b.id ? -1 : 1));
    for (const r of sorted) {
      const g = groups.get(r.groupKey) ?? { groupKey: r.groupKey, readings: [] };
      const at = Date.parse(r.at);
      if (at < from) g.before = { at: r.at, id: r.id, value: r.value };
      else if (at < to) g.readings.push({ at: r.at, id: r.id, value: r.value });
      groups.set(r.groupKey, g);
    }
    return [...groups.values()];
  }
}

const november: Period = { start: Date.parse('2026-11-01T00:00:00Z'), end: Date.parse('2026-12-01T00:00:00Z') };
const invoicedAt = Date.parse('2026-12-02T00:00:00Z');

const meter = (key: string, aggregation: Aggregation, extra: Partial<Meter> = {}): Meter => ({
  key,
  name: key,
  unit: 'unit',
  aggregation,
  groupBy: [],
  ...extra,
});

let n = 0;
const event = (m: Meter, timestamp: string, value: string, groupKey = ''): UsageEvent => {
  const id = `e${n++}`;
  return {
    tenantId: 't',
    id,
    meter: m.key,
    aggregation: m.aggregation,
    timestamp: new Date(timestamp).toISOString(),
    value,
    groupKey,
    payloadHash: id,
    receivedAt: timestamp,
  };
};

const billed = (counters: Counters, m: Meter, period = november, asOf = invoicedAt) => billedQuantity(counters, 't', m, period, asOf);
const cents = (amount: Dec) => roundMoney(amount, 'USD');

describe('AVG meters', () => {
  const latency = meter('latency_ms', 'AVG', { groupBy: ['region'] });

  it('keep the sum and the count, divide once when read, take late events and corrections, and price exactly', async () => {
    const counters = new Counters();
    const a = event(latency, '2026-11-03T10:00:00Z', '10', 'region=eu');
    const b = event(latency, '2026-11-17T23:59:59Z', '20', 'region=us');
    const c = event(latency, '2026-11-30T12:00:00Z', '35.5', 'region=eu');
    counters.fold([c, a, b]);
    // 65.5 / 3 = 21.8333…, shown to 6 decimals.
    expect(await billed(counters, latency)).toBe('21.833333');
    expect(cents(charge({ model: 'perUnit', unitPrice: '0.10' }, new Dec('21.833333')).amount)).toBe('2.18');

    // A late event (stamped in November, arriving December 1st before the invoice): (65.5 + 4.5) / 4 = 17.5.
    const late = event(latency, '2026-11-30T23:00:00Z', '4.5', 'region=us');
    counters.fold([late]);
    expect(await billed(counters, latency)).toBe('17.5');

    // Corrected: 35.5 replaced by 15.5 moves the sum by -20, the count by nothing: 50 / 4 = 12.5.
    counters.correct(c, { ...c, value: '15.5' });
    expect(await billed(counters, latency)).toBe('12.5');
    // Voided: 10 and its event leave: 40 / 3 = 13.333333.
    counters.correct(a, undefined);
    expect(await billed(counters, latency)).toBe('13.333333');
    // A group's counters keep their own sum and count: eu holds 15.5 alone, us (20 + 4.5) / 2.
    const eu = [...counters.counters.values()].find((x) => x.groupKey === 'region=eu' && x.granularity === 'month')!;
    const us = [...counters.counters.values()].find((x) => x.groupKey === 'region=us' && x.granularity === 'month')!;
    expect([eu.value!.div(eu.events).toFixed(), us.value!.div(us.events).toFixed()]).toEqual(['15.5', '12.25']);
  });

  it('bill 0 for a period without events, and an anchored period over its day counters', async () => {
    const counters = new Counters();
    expect(await billed(counters, latency)).toBe('0');
    counters.fold([
      event(latency, '2026-11-14T23:00:00Z', '1'),
      event(latency, '2026-11-15T01:00:00Z', '2'),
      event(latency, '2026-12-15T01:00:00Z', '9'),
    ]);
    const anchored = { start: Date.parse('2026-11-15T00:00:00Z'), end: Date.parse('2026-12-15T00:00:00Z') };
    expect(await billed(counters, latency, anchored)).toBe('2');
  });
});

describe('MIN meters', () => {
  const temperature = meter('low_water', 'MIN');

  it('keep the smallest value of the period, take late events, and refuse corrections like MAX', async () => {
    const counters = new Counters();
    const first = event(temperature, '2026-11-02T00:00:00Z', '7');
    counters.fold([event(temperature, '2026-11-20T00:00:00Z', '9'), event(temperature, '2026-11-09T00:00:00Z', '3.25'), first]);
    // An October reading does not count in November.
    counters.fold([event(temperature, '2026-10-31T23:59:59Z', '1')]);
    expect(await billed(counters, temperature)).toBe('3.25');
    counters.fold([event(temperature, '2026-11-30T23:59:59.999Z', '2')]);
    expect(await billed(counters, temperature)).toBe('2');
    expect(cents(charge({ model: 'perUnit', unitPrice: '1.005' }, new Dec('2')).amount)).toBe('2.01');
    expect(() => counters.correct(first, undefined)).toThrow(/MIN meters cannot be corrected/);
    expect(await billed(new Counters(), temperature)).toBe('0');
  });
});

describe('TIME_WEIGHTED meters', () => {
  const gpus = meter('gpus', 'TIME_WEIGHTED', { unit: 'GPU', per: 'hour' });
  // 4 GPUs from October on; 8 from Nov 1st 06:00; 2 from Nov 2nd 00:00; none from Nov 2nd 12:30.
  const readings = () => [
    event(gpus, '2026-10-31T22:00:00Z', '4'),
    event(gpus, '2026-11-01T06:00:00Z', '8'),
    event(gpus, '2026-11-02T00:00:00Z', '2'),
    event(gpus, '2026-11-02T12:30:00Z', '0'),
  ];

  it('integrate each reading until the next, with the last reading before the period carried in', async () => {
    const counters = new Counters();
    counters.fold(readings());
    // 4 × 6 h + 8 × 18 h + 2 × 12.5 h + 0 = 24 + 144 + 25 = 193 GPU-hours.
    expect(await billed(counters, gpus)).toBe('193');
    expect(billedUnit(gpus)).toBe('GPU-hour');
    expect(await billed(counters, { ...gpus, per: 'minute' })).toBe('11580');
    // 193 / 24 = 8.0416666…
    expect(await billed(counters, { ...gpus, per: 'day' })).toBe('8.041667');
    // `month` is the period's own length (720 hours): 193 / 720 = 0.268055…
    expect(await billed(counters, { ...gpus, per: 'month' })).toBe('0.268056');
    // Up to an instant inside the period: Nov 1st 12:00 holds 4 × 6 + 8 × 6 = 72.
    expect(await billed(counters, gpus, november, Date.parse('2026-11-01T12:00:00Z'))).toBe('72');
    // The level now: the newest reading at or before the instant.
    const reads = meterQuantities(counters);
    expect(await reads.level('t', gpus, Date.parse('2026-11-01T06:00:00Z'))).toBe('8');
    expect(await reads.level('t', gpus, Date.parse('2026-11-01T05:59:59.999Z'))).toBe('4');
  });

  it('give the same answer out of order, with a late reading, and after corrections', async () => {
    const inOrder = new Counters();
    const shuffled = new Counters();
    const [before, eight, two, none] = readings();
    inOrder.fold([before!, eight!, two!, none!]);
    shuffled.fold([none!]);
    shuffled.fold([two!, before!]);
    shuffled.fold([eight!]);
    expect(await billed(shuffled, gpus)).toBe(await billed(inOrder, gpus));

    // A late reading (Nov 1st 12:00: 1 GPU) arrives after the period ended, before the invoice:
    // 4 × 6 + 8 × 6 + 1 × 12 + 2 × 12.5 = 24 + 48 + 12 + 25 = 109.
    const late = event(gpus, '2026-11-01T12:00:00Z', '1');
    shuffled.fold([late]);
    expect(await billed(shuffled, gpus)).toBe('109');

    // Corrected: the Nov 2nd reading was 6, not 2: 24 + 48 + 12 + 6 × 12.5 = 159.
    shuffled.correct(two!, { ...two!, value: '6' });
    expect(await billed(shuffled, gpus)).toBe('159');
    // Voided: the 8 never happened, so the 4 holds until the late 1: 4 × 12 + 1 × 12 + 75 = 135.
    shuffled.correct(eight!, undefined);
    expect(await billed(shuffled, gpus)).toBe('135');
  });

  it('price with every model, rounding once where the line is made', async () => {
    const counters = new Counters();
    counters.fold(readings());
    const q = new Dec(await billed(counters, gpus));
    const tiers = [
      { upTo: '100', unitPrice: '2', flatFee: '0' },
      { upTo: null, unitPrice: '1.5', flatFee: '0' },
    ];
    const amounts = {
      free: charge({ model: 'free' }, q).amount,
      perUnit: charge({ model: 'perUnit', unitPrice: '2.5' }, q).amount,
      packageUp: charge({ model: 'package', packageSize: '100', packagePrice: '150', rounding: 'up' }, q).amount,
      packageProrated: charge({ model: 'package', packageSize: '100', packagePrice: '150', rounding: 'prorated' }, q).amount,
      quota: charge({ model: 'quota', included: '100', unitPrice: '3' }, q).amount,
      graduated: charge({ model: 'graduated', tiers }, q).amount,
      volume: charge({ model: 'volume', tiers }, q).amount,
    };
    // 193 × 2.5; 2 packages; 193 × 150 / 100; (193 − 100) × 3; 100 × 2 + 93 × 1.5; 193 × 1.5.
    expect(Object.fromEntries(Object.entries(amounts).map(([k, v]) => [k, cents(v)]))).toEqual({
      free: '0.00',
      perUnit: '482.50',
      packageUp: '300.00',
      packageProrated: '289.50',
      quota: '279.00',
      graduated: '339.50',
      volume: '289.50',
    });
    // A quantity with more digits is priced as read and rounded once: 8.041667 GPU-days × $0.333 = $2.677875… → $2.68.
    expect(cents(charge({ model: 'perUnit', unitPrice: '0.333' }, new Dec(await billed(counters, { ...gpus, per: 'day' }))).amount)).toBe(
      '2.68',
    );
  });

  it('add up the integrals of a grouped meter’s groups (seats per region)', async () => {
    const seats = meter('seats', 'TIME_WEIGHTED', { unit: 'seat', per: 'day', groupBy: ['region'] });
    const counters = new Counters();
    counters.fold([
      event(seats, '2026-11-16T00:00:00Z', '20', 'region=eu'),
      event(seats, '2026-10-20T00:00:00Z', '5', 'region=us'),
      event(seats, '2026-11-01T00:00:00Z', '10', 'region=eu'),
    ]);
    // eu: 10 × 15 + 20 × 15 = 450 seat-days; us: 5 × 30 = 150.
    expect(await billed(counters, seats)).toBe('600');
    expect(billedUnit(seats)).toBe('seat-day');
    expect(await billed(counters, { ...seats, per: 'month' })).toBe('20');
  });

  it('equal LATEST’s unit-months when readings fall on the hour (LATEST samples the same gauge hourly)', async () => {
    const { unitMonths } = await import('../../shared/metering/period-usage.js');
    const counters = new Counters();
    const onTheHour = [
      event(gpus, '2026-10-31T22:00:00Z', '4'),
      event(gpus, '2026-11-01T06:00:00Z', '8'),
      event(gpus, '2026-11-02T00:00:00Z', '2'),
      event(gpus, '2026-11-02T12:00:00Z', '0'),
    ];
    counters.fold(onTheHour);
    const hourly = onTheHour.slice(1).map((e) => ({ period: e.timestamp.slice(0, 13), value: e.value }));
    // 24 + 144 + 24 = 192 GPU-hours = 192 / 720 GPU-months.
    expect(unitMonths('4', hourly, november, invoicedAt)).toBe('0.266667');
    expect(await billed(counters, { ...gpus, per: 'month' })).toBe('0.266667');
  });

  it('any order of readings, folded in any messages, gives the same quantity', async () => {
    const instants = fc.integer({ min: Date.parse('2026-10-25T00:00:00Z'), max: Date.parse('2026-12-03T00:00:00Z') });
    const reading = fc.record({
      at: instants,
      value: fc.integer({ min: 0, max: 5000 }).map((v) => new Dec(v).div(100).toFixed()),
      group: fc.constantFrom('', 'pool=a', 'pool=b'),
    });
    const scenario = fc
      .array(reading, { minLength: 1, maxLength: 40 })
      .chain((raw) =>
        fc.tuple(
          fc.constant(raw),
          fc.shuffledSubarray([...raw.keys()], { minLength: raw.length, maxLength: raw.length }),
          fc.integer({ min: 1, max: 5 }),
        ),
      );
    const meters = [meter('gauge', 'TIME_WEIGHTED', { per: 'minute' }), meter('mean', 'AVG'), meter('low', 'MIN')];
    const day: Period = { start: Date.parse('2026-11-10T00:00:00Z'), end: Date.parse('2026-11-11T00:00:00Z') };
    await fc.assert(
      fc.asyncProperty(scenario, async ([raw, order, messageSize]) => {
        for (const m of meters) {
          const events = raw.map((r, i) => ({ ...event(m, new Date(r.at).toISOString(), r.value, r.group), id: `r${i}` }));
          const inOrder = new Counters();
          inOrder.fold([...events].sort((x, y) => (x.timestamp < y.timestamp ? -1 : x.timestamp > y.timestamp ? 1 : 0)));
          const permuted = new Counters();
          const shuffled = order.map((i) => events[i]!);
          for (let i = 0; i < shuffled.length; i += messageSize) permuted.fold(shuffled.slice(i, i + messageSize));
          for (const [period, asOf] of [
            [november, invoicedAt],
            [november, Date.parse('2026-11-15T07:30:00Z')],
            [day, invoicedAt],
          ] as const) {
            expect(await billed(permuted, m, period, asOf)).toBe(await billed(inOrder, m, period, asOf));
          }
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('meter definitions', () => {
  it('take `per` for TIME_WEIGHTED meters, and only for them, with the field named', () => {
    const ok = meterDefinitionSchema.safeParse({ name: 'GPUs', unit: 'GPU', aggregation: 'TIME_WEIGHTED', per: 'minute' });
    expect(ok.success).toBe(true);
    for (const bad of [
      { name: 'GPUs', unit: 'GPU', aggregation: 'TIME_WEIGHTED' },
      { name: 'Latency', unit: 'ms', aggregation: 'AVG', per: 'hour' },
      { name: 'GPUs', unit: 'GPU', aggregation: 'TIME_WEIGHTED', per: 'week' },
    ]) {
      const r = meterDefinitionSchema.safeParse(bad);
      expect(r.success).toBe(false);
      expect(r.error!.issues[0]!.path).toEqual(['per']);
    }
    expect(meterDefinitionSchema.safeParse({ name: 'Low', unit: 'm', aggregation: 'MIN' }).success).toBe(true);
  });
});
