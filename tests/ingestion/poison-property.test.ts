import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { Dec } from '../../shared/kernel/decimal.js';
import type { Meter } from '../../shared/metering/meters.js';
import { api, createTenant, startTestStack } from '../support/stack.js';

/**
 * Arbitrary property shapes, names, depths, sizes and numeric forms, posted among plain events through the
 * local stack. Whatever arrives, every plain event is counted exactly once, every event is answered rejected
 * with a code or is counted or quarantined with a reason, nothing reaches the DLQ and nothing answers 5xx.
 */
const meters: Meter[] = [
  { key: 'plain', name: 'Plain', unit: 'event', aggregation: 'COUNT', groupBy: [] },
  { key: 'odd_count', name: 'Odd count', unit: 'event', aggregation: 'COUNT', groupBy: [] },
  { key: 'odd_sum', name: 'Odd sum', unit: 'unit', aggregation: 'SUM', groupBy: [] },
  { key: 'odd_group', name: 'Odd group', unit: 'event', aggregation: 'COUNT', groupBy: ['g'] },
];

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
      meter: fc.constantFrom('odd_count', 'odd_sum', 'odd_group'),
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
    const accepted: { id: string; meter: string; value?: unknown; kind: Generated['kind'] }[] = [];
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
            accepted.push({ id: e.id, meter: e.meter, value: 'value' in e ? e.value : undefined, kind: g.kind });
          }
        }
      }),
      { numRuns: 30 },
    );
    await stack.drained(120_000);

    const truth = new Map<string, Dec>(meters.map((m) => [m.key, new Dec(0)]));
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
      const add =
        e.meter === 'odd_sum'
          ? new Dec(typeof e.value === 'string' ? e.value.trim() : (e.value as { rawJSON: string }).rawJSON)
          : new Dec(1);
      truth.set(e.meter, truth.get(e.meter)!.plus(add));
    }
    const usage = (await api(stack, 'GET', '/v1/usage/current', key)).body.meters as { meter: string; value: string }[];
    for (const m of meters) {
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
