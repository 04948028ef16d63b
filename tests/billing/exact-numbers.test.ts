import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { LocalStack } from '../../local/stack.js';
import { Dec } from '../../shared/kernel/decimal.js';
import { parseJson } from '../../shared/kernel/json.js';
import { decimalString } from '../../shared/kernel/money.js';
import type { Meter } from '../../shared/metering/meters.js';
import { api, createAdminKey, createTenant, startTestStack } from '../support/stack.js';

/**
 * JSON numbers in request bodies are read from their text, never through a binary float: each field kind
 * takes a number under the same range and precision rules as its decimal string, and a plain integer field
 * refuses a number a double cannot hold rather than rounding it into range. Bodies are written by hand:
 * JSON.stringify cannot write 9007199254740993.
 */
const meters: Meter[] = [
  { key: 'orders', name: 'Orders', unit: 'order', aggregation: 'COUNT', groupBy: [] },
  { key: 'tokens', name: 'Tokens', unit: 'token', aggregation: 'SUM', groupBy: [] },
];

/** The boundary forms, as JSON text. */
const forms = ['9007199254740993', '1000000000000000001', '0.10', '1e3', '-0'] as const;

describe('exact JSON numbers in every request body', () => {
  let stack: LocalStack;
  let admin: string;
  let key: string;
  const send = (method: string, path: string, token: string, body: string) => api(stack, method, path, token, body);

  beforeAll(async () => {
    stack = await startTestStack();
    admin = await createAdminKey(stack);
    key = await createTenant(stack, 'exact', meters);
  });
  afterAll(() => stack?.stop());

  it('prices: a number is the decimal it spells, within 18 digits and 12 decimals, as a string is', async () => {
    const price = async (n: string) => {
      const body = `{"name":"P","currency":"USD","interval":"month","baseFee":"0","prices":{"orders":{"model":"perUnit","unitPrice":${n}}}}`;
      const res = await send('PUT', '/v1/admin/plans/exact', admin, body);
      return res.status === 200 ? res.body.prices.orders.unitPrice : [res.status, res.body.code, res.body.field];
    };
    const got: Record<string, unknown> = {};
    for (const n of forms) got[n] = await price(n);
    expect(got).toEqual({
      '9007199254740993': '9007199254740993',
      '1000000000000000001': [400, 'INVALID_REQUEST', 'prices.orders.unitPrice'],
      '0.10': '0.10',
      '1e3': '1000',
      '-0': '0',
    });
    // The string spellings follow the same rules.
    expect(await price('"9007199254740993"')).toBe('9007199254740993');
    expect(await price('"1000000000000000001"')).toEqual([400, 'INVALID_REQUEST', 'prices.orders.unitPrice']);
    // A float's long tail is more precision than a price may carry: refused, never rounded.
    expect(await price(String(0.1 + 0.2))).toEqual([400, 'INVALID_REQUEST', 'prices.orders.unitPrice']);
  });

  it('quota limits: the same rules as prices', async () => {
    const limit = async (n: string) => {
      const res = await send('PUT', '/v1/admin/tenants/exact/quotas/orders', admin, `{"limit":${n}}`);
      return res.status === 200 ? res.body.limit : [res.status, res.body.code, res.body.field];
    };
    const got: Record<string, unknown> = {};
    for (const n of forms) got[n] = await limit(n);
    expect(got).toEqual({
      '9007199254740993': '9007199254740993',
      '1000000000000000001': [400, 'INVALID_REQUEST', 'limit'],
      '0.10': '0.10',
      '1e3': '1000',
      '-0': '0',
    });
    expect((await api(stack, 'GET', '/v1/admin/tenants/exact/quotas', admin)).body.quotas).toMatchObject([{ meter: 'orders', limit: '0' }]);
  });

  it('alert thresholds and spend amounts: positive decimals, exactly as spelled', async () => {
    const alert = async (n: string, body = `{"meter":"orders","threshold":${n}}`, field = 'threshold') => {
      const res = await send('PUT', '/v1/alerts/big', key, body);
      return res.status < 300 ? res.body[field] : [res.status, res.body.code, res.body.field];
    };
    const thresholds: Record<string, unknown> = {};
    const amounts: Record<string, unknown> = {};
    for (const n of forms) {
      thresholds[n] = await alert(n);
      amounts[n] = await alert(n, `{"kind":"spend","basis":"current","amount":${n}}`, 'amount');
    }
    const expected = {
      '9007199254740993': '9007199254740993',
      '1000000000000000001': [400, 'INVALID_REQUEST', 'threshold'],
      '0.10': '0.10',
      '1e3': '1000',
      '-0': [400, 'INVALID_REQUEST', 'threshold'],
    };
    expect(thresholds).toEqual(expected);
    expect(amounts).toEqual({
      ...expected,
      '1000000000000000001': [400, 'INVALID_REQUEST', 'amount'],
      '-0': [400, 'INVALID_REQUEST', 'amount'],
    });
  });

  it('correction values: the rules of an event value (at most 10^18, -0 is zero), and the counters move exactly', async () => {
    const ingest = await api(stack, 'POST', '/v1/events', key, {
      id: 't-1',
      meter: 'tokens',
      timestamp: new Date().toISOString(),
      value: '1',
    });
    expect(ingest.body.accepted).toBe(1);
    await stack.drained();
    const correct = async (n: string, i: number) => {
      const res = await send('POST', '/v1/events/t-1/corrections', key, `{"correctionId":"c-${i}","action":"replace","value":${n}}`);
      return res.status === 201 ? res.body.after.value : [res.status, res.body.code, res.body.field];
    };
    const got: Record<string, unknown> = {};
    for (const [i, n] of forms.entries()) got[n] = await correct(n, i);
    expect(got).toEqual({
      '9007199254740993': '9007199254740993',
      '1000000000000000001': [400, 'INVALID_REQUEST', 'value'],
      '0.10': '0.1',
      '1e3': '1000',
      '-0': '0',
    });
    expect(await correct('9007199254740993', 9)).toBe('9007199254740993');
    const current = (await api(stack, 'GET', '/v1/usage/current', key)).body.meters.find((m: { meter: string }) => m.meter === 'tokens');
    expect(new Dec(current.value).toFixed()).toBe('9007199254740993');
  });

  it('plain integer fields take ordinary JSON integers and refuse what a double cannot hold', async () => {
    const trial = async (n: string) =>
      (await send('PUT', '/v1/admin/tenants/exact/subscription', admin, `{"planId":"starter","trialDays":${n}}`)).status;
    expect(await trial('14.0000000000000001')).toBe(400);
    expect(await trial('9007199254740993')).toBe(400);
    expect(await trial('-0')).toBe(400);
    expect(await trial('14')).toBe(201);

    const terms = async (n: string) => {
      const res = await send('PUT', '/v1/admin/billing/seller', admin, `{"name":"Seller","paymentTermsDays":${n}}`);
      return res.status === 200 ? res.body.paymentTermsDays : [res.status, res.body.field];
    };
    expect(await terms('30')).toBe(30);
    expect(await terms('1e1')).toBe(10);
    expect(await terms('-0')).toBe(0);
    expect(await terms('9007199254740993')).toEqual([400, 'paymentTermsDays']);
    expect(await terms('1000000000000000001')).toEqual([400, 'paymentTermsDays']);
    expect(await terms('0.10')).toEqual([400, 'paymentTermsDays']);

    const session = async (n: string) => (await send('POST', '/v1/dashboard/sessions', key, `{"ttlMinutes":${n}}`)).status;
    expect(await session('30')).toBe(201);
    expect(await session('1e3')).toBe(400);
  });
});

describe('decimalString', () => {
  it('reads a JSON number and its string spelling to the same value, or refuses both', () => {
    const read = (text: string) => {
      const r = decimalString.safeParse(parseJson(text));
      return r.success ? r.data : 'refused';
    };
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 20n }), fc.integer({ min: 0, max: 14 }), (digits, scale) => {
        const s = digits.toString().padStart(scale + 1, '0');
        const text = scale === 0 ? s : `${s.slice(0, -scale)}.${s.slice(-scale)}`;
        expect(read(text)).toBe(read(JSON.stringify(text)));
      }),
    );
    // A JS number (a float already) is refused; a huge exponent is refused without being expanded.
    expect(decimalString.safeParse(0.1).success).toBe(false);
    expect(read('1e1000000000')).toBe('refused');
    expect(z.toJSONSchema(z.object({ d: decimalString }), { io: 'input', unrepresentable: 'any' }).properties?.d).toMatchObject({
      anyOf: [{ type: 'string' }, { type: 'number' }],
    });
  });
});
