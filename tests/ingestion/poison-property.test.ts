import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { Dec } from '../../shared/kernel/decimal.js';
import { calendarMonth } from '../../shared/kernel/periods.js';
import type { Meter } from '../../shared/metering/meters.js';
import { average, timeWeighted } from '../../shared/metering/period-usage.js';
import type { Reading } from '../../shared/metering/ports.js';
import { api, createTenant, startTestStack } from '../support/stack.js';

/**
 * Arbitrary property shapes, names, depths, sizes and numeric forms, posted among plain events through the
 * local stack, to meters of every way of folding a value (SUM, AVG, MIN, TIME_WEIGHTED) and of counting. Whatever arrives, every plain event is counted exactly once, every event is answered rejected
 * with a code or is counted or quarantined with a reason, nothing reaches the DLQ and nothing answers 5xx.
 */
const meters: Meter[] = [
  { key: 'plain', name: 'Plain', unit: 'event', aggregation: 'COUNT', groupBy: [] },
  { key: 'odd_count', name: 'Odd count', unit: 'event', aggregation: 'COUNT', groupBy: [] },
  { key: 'odd_sum', name: 'Odd sum', unit: 'unit', aggregation: 'SUM', groupBy: [] },
  { key: 'odd_group', name: 'Odd group', unit: 'event', aggregation: 'COUNT', groupBy: ['g'] },
  { key: 'odd_avg', name: 'Odd mean', unit: 'unit', aggregation: 'AVG', groupBy: [] },
  { key: 'odd_min', name: 'Odd minimum', unit: 'unit', aggregation: 'MIN', groupBy: [] },
  { key: 'odd_gauge', name: 'Odd gauge', unit: 'unit', aggregation: 'TIME_WEIGHTED', per: 'hour', groupBy: [] },
];
/** The meters whose events carry a value (the others count events). */
const valued = new Set(['odd_sum', 'odd_avg', 'odd_min', 'odd_gauge']);

const raw = JSON as unknown as { rawJSON(text: string): unknown };

/** JSON number text in every spelling the grammar allows, including ones no double holds. */
const numberText = fc.oneof(
  fc.constantFrom(
    '0',
    '-0',
    '1',
    '1.0',
    '1e0',
    '1E2',
    '-5',
    '1e400',
    '-1e400',
    '9007199254740993',
    '1000000000000000001',
    '1e18',
    '0.000000000001',
    '0.0000000000001',
    '12345678901234567890123',
  ),
  fc
    .tuple(
      fc.boolean(),
      fc.bigInt({ min: 0n, max: 10n ** 22n }),
      fc.option(fc.nat({ max: 10 ** 9 })),
      fc.option(fc.integer({ min: -30, max: 30 })),
    )
    .map(([negative, int, frac, exp]) => `${negative ? '-' : ''}${int}${frac === null ? '' : `.${frac}`}${exp === null ? '' : `e${exp}`}`),
);
const number = numberText.map((t) => raw.rawJSON(t));

const key = fc.oneof(
  fc.constantFrom('', 'constructor', '__proto__', 'toString', 'hasOwnProperty', 'value', 'g', '\ud800', 'a.b', '$', 'é'),
  fc.string({ unit: 'binary', maxLength: 12 }),
);
const leaf = fc.oneof(
  { arbitrary: fc.oneof(number, fc.string({ unit: 'binary', maxLength: 20 }), fc.boolean(), fc.constant(null)), weight: 8 },
  { arbitrary: fc.constantFrom('x'.repeat(1_000), 'y'.repeat(40_000)), weight: 1 },
);
const json = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, leaf, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 3 }),
  object: fc.dictionary(key, tie('value'), { maxKeys: 4, noNullPrototype: true }),
})).value;
/** A value nested `depth` levels deep, around 32 where the limit is. */
const deep = fc.tuple(fc.oneof(fc.integer({ min: 28, max: 36 }), fc.constant(500)), fc.boolean(), leaf).map(([depth, arrays, inner]) => {
  let v: unknown = inner;
  for (let i = 0; i < depth; i++) v = arrays ? [v] : { d: v };
  return v;
});
const properties = fc
  .tuple(
    fc.dictionary(key, fc.oneof({ arbitrary: json, weight: 6 }, { arbitrary: deep, weight: 1 }), { maxKeys: 5, noNullPrototype: true }),
    fc.option(fc.oneof({ arbitrary: leaf, weight: 4 }, { arbitrary: json, weight: 1 })),
  )
  .map(([props, g]) => {
    if (g !== null) Object.defineProperty(props, 'g', { value: g, enumerable: true, writable: true, configurable: true });
    return props;
  });

type Generated = { kind: 'plain' } | { kind: 'odd'; meter: string; value?: unknown; properties: Record<string, unknown> };
const generated: fc.Arbitrary<Generated> = fc.oneof(
  fc.constant({ kind: 'plain' as const }),
  fc.record(
    {
      kind: fc.constant('odd' as const),
      meter: fc.constantFrom('odd_count', 'odd_sum', 'odd_group', 'odd_avg', 'odd_min', 'odd_gauge'),
      value: fc.oneof(number, fc.constantFrom('1', ' 2.5 ', 'abc', '', '-1', '1e-13')),
      properties,
    },
    { requiredKeys: ['kind', 'meter', 'properties'] },
  ),
);

describe('poison-proof folding, property-based, through the local stack', () => {
  let stack: LocalStack;
  let key: string;
  beforeAll(async () => {
    stack = await startTestStack();
    key = await createTenant(stack, 'acme', meters);
  });
  afterAll(() => stack?.stop());

  it('counts every good event once and answers every other with a code, a count or a quarantine reason', async () => {
    const accepted: { id: string; meter: string; timestamp: string; value?: unknown; kind: Generated['kind'] }[] = [];
    let plainSent = 0;
    let run = 0;
    const codes = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(fc.array(generated, { minLength: 1, maxLength: 25 }), async (batch) => {
        run += 1;
        const timestamp = new Date().toISOString();
        const events = batch.map((g, i) => {
          const id = `r${run}-${i}`;
          if (g.kind === 'plain') return { id, meter: 'plain', timestamp };
          return { id, meter: g.meter, timestamp, ...(g.value !== undefined ? { value: g.value } : {}), properties: g.properties };
        });
        const body = JSON.stringify(events);
        const res = await fetch(`${stack.apiUrl}/v1/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body,
        });
        expect(res.status).toBeLessThan(500);
        if (res.status === 413) return; // a batch over 1 MiB as a whole: refused with its code, nothing counted
        expect(res.status).toBe(202);
        const answer = (await res.json()) as { results: { index: number; status: string; code?: string; message?: string }[] };
        expect(answer.results).toHaveLength(events.length);
        for (const r of answer.results) {
          const g = batch[r.index]!;
          if (g.kind === 'plain') {
            expect(r.status).toBe('accepted');
            plainSent += 1;
          }
          if (r.status === 'rejected') {
            expect(r.code).toMatch(/^[A-Z_]+$/);
            expect(r.message).toBeTruthy();
            codes.set(r.code!, (codes.get(r.code!) ?? 0) + 1);
          } else {
            expect(r.status).toBe('accepted');
            const e = events[r.index]!;
            accepted.push({ id: e.id, meter: e.meter, timestamp, value: 'value' in e ? e.value : undefined, kind: g.kind });
          }
        }
      }),
      // One well-formed gauge reading first: the gauge's check below needs one, which random batches do not always count.
      { numRuns: 30, examples: [[[{ kind: 'odd', meter: 'odd_gauge', value: '2.5', properties: {} }]]] },
    );
    await stack.drained(120_000);

    const truth = new Map<string, Dec>(meters.map((m) => [m.key, new Dec(0)]));
    const values = new Map<string, Dec[]>();
    const readings: Reading[] = [];
    let quarantined = 0;
    for (const e of accepted) {
      const found = await api(stack, 'GET', `/v1/events/${encodeURIComponent(e.id)}`, key);
      expect(found.status).toBe(200);
      if (found.body.status === 'quarantined') {
        expect(e.kind).toBe('odd');
        expect(found.body.quarantine.reason).toBeTruthy();
        quarantined += 1;
        continue;
      }
      expect(found.body.status).toBe('counted');
      const add = valued.has(e.meter)
        ? new Dec(typeof e.value === 'string' ? e.value.trim() : (e.value as { rawJSON: string }).rawJSON)
        : new Dec(1);
      truth.set(e.meter, truth.get(e.meter)!.plus(add));
      values.set(e.meter, [...(values.get(e.meter) ?? []), add]);
      if (e.meter === 'odd_gauge') readings.push({ at: e.timestamp, id: e.id, value: add.toFixed() });
    }
    // The mean and the minimum of what was counted, as billed (0 without an event).
    truth.set('odd_avg', new Dec(average(truth.get('odd_avg')!, values.get('odd_avg')?.length ?? 0)));
    truth.set('odd_min', values.has('odd_min') ? Dec.min(...values.get('odd_min')!) : new Dec(0));
    // The gauge's integral runs up to the instant the API answers, which lies between these two.
    const before = Date.now();
    const usage = (await api(stack, 'GET', '/v1/usage/current', key)).body.meters as { meter: string; value: string }[];
    const after = Date.now();
    const integral = (asOf: number) => new Dec(timeWeighted([{ groupKey: '', readings }], calendarMonth(before), asOf, 'hour'));
    const gauge = new Dec(usage.find((u) => u.meter === 'odd_gauge')!.value);
    const [low, high] = [integral(before), integral(after)].sort((a, b) => a.cmp(b));
    expect(gauge.gte(low!) && gauge.lte(high!), `${low} ≤ ${gauge} ≤ ${high}`).toBe(true);
    expect(readings.length).toBeGreaterThan(0);
    for (const m of meters.filter((m) => m.key !== 'odd_gauge')) {
      expect({ meter: m.key, value: new Dec(usage.find((u) => u.meter === m.key)!.value).toFixed() }).toEqual({
        meter: m.key,
        value: truth.get(m.key)!.toFixed(),
      });
    }
    expect(truth.get('plain')!.toNumber()).toBe(plainSent);
    const dlq = await stack.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: stack.queues.usageDlqUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
    );
    expect(dlq.Attributes!.ApproximateNumberOfMessages).toBe('0');
    // The generator reaches every kind of refusal, and odd events that are counted as well.
    expect([...codes.keys()]).toEqual(expect.arrayContaining(['INVALID_PROPERTIES', 'INVALID_VALUE', 'EVENT_TOO_LARGE']));
    expect(accepted.filter((e) => e.kind === 'odd').length - quarantined).toBeGreaterThan(0);
  });
});
