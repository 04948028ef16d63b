import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InvoicingRun } from '../../functions/invoicing/invoicing.js';
import type { LocalStack } from '../../local/stack.js';
import { DynamoBillingStore } from '../../shared/billing/adapters/billing-store.js';
import { Dec } from '../../shared/kernel/decimal.js';
import { periodKey } from '../../shared/kernel/periods.js';
import { DynamoCounterReader } from '../../shared/metering/adapters/counter-reader.js';
import type { Meter } from '../../shared/metering/meters.js';
import { documentClient } from '../../shared/platform/dynamo/client.js';
import { crashingCorrections } from '../support/faults.js';
import { api, createAdminKey, createTenant, startTestStack } from '../support/stack.js';

/**
 * Corrections on the local stack against ground truth: events voided and replaced in an open and in an invoiced
 * period, through the API and through the store with crashes injected before and after its one write.
 */
const HOUR = 3_600_000;
const GRACE_HOURS = 45 * 24;
const monthStart = (add: number) => Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth() + add, 1);
const tokens: Meter = { key: 'tokens', name: 'Tokens', unit: 'token', aggregation: 'SUM', groupBy: ['model'] };

describe('corrections', () => {
  let stack: LocalStack;
  let admin: string;
  let key: string;
  let counters: DynamoCounterReader;
  /** Ground truth: each event's current value and model, by id. */
  const truth = new Map<string, { at: number; value: string; model: string }>();
  const invoicing = (closing: number) =>
    stack.runSchedule('invoicing', new Date(closing + GRACE_HOURS * HOUR + HOUR)) as Promise<InvoicingRun>;
  const correct = (id: string, body: object, token = key, path = `/v1/events/${id}/corrections`) => api(stack, 'POST', path, token, body);

  const expectCountersTrue = async () => {
    for (const month of [monthStart(-1), monthStart(0)]) {
      const m = periodKey('month', month);
      const inMonth = [...truth.values()].filter((e) => periodKey('month', e.at) === m);
      const total = inMonth.reduce((s, e) => s.plus(e.value), new Dec(0));
      const [row] = await counters.series('fix', 'tokens', 'month', m, m);
      expect({ month: m, value: new Dec(row?.value ?? 0).toFixed(), events: row?.events ?? 0 }).toEqual({
        month: m,
        value: total.toFixed(),
        events: inMonth.length,
      });
      for (const model of ['a', 'b']) {
        const [g] = await counters.series('fix', 'tokens', 'month', m, m, `model=${model}`);
        const want = inMonth.filter((e) => e.model === model).reduce((s, e) => s.plus(e.value), new Dec(0));
        expect(new Dec(g?.value ?? 0).toFixed()).toBe(want.toFixed());
      }
      // Hour counters too: every hour of the month sums to the same truth.
      const hours = await counters.series('fix', 'tokens', 'hour', `${m}-01T00`, `${m}-31T23`);
      expect(hours.reduce((s, h) => s.plus(h.value), new Dec(0)).toFixed()).toBe(total.toFixed());
    }
  };

  beforeAll(async () => {
    stack = await startTestStack({ env: { GRACE_PERIOD_HOURS: String(GRACE_HOURS) } });
    stack.stripe?.setWebhook(undefined);
    admin = await createAdminKey(stack);
    key = await createTenant(stack, 'fix', [tokens]);
    counters = new DynamoCounterReader(documentClient(stack.dynamo), stack.env.COUNTERS_TABLE!);
    const billing = new DynamoBillingStore(documentClient(stack.dynamo), stack.env.BILLING_TABLE!);
    await billing.putPlan({
      id: 'per-token',
      name: 'Per token',
      currency: 'USD',
      interval: 'month',
      baseFee: '0',
      prices: { tokens: { model: 'perUnit', unitPrice: '0.01' } },
    });
    expect(
      await api(stack, 'PUT', '/v1/admin/tenants/fix/subscription', admin, {
        planId: 'per-token',
        startAt: new Date(monthStart(-1)).toISOString(),
      }),
    ).toMatchObject({ status: 201 });
    const events = [];
    for (const [prefix, month] of [
      ['p', monthStart(-1)],
      ['c', monthStart(0)],
    ] as const) {
      for (let i = 0; i < 6; i++) {
        // This month's events spread over its elapsed part: early on the 1st, an hour in is still the future.
        const at = prefix === 'p' ? month + (i + 1) * HOUR : month + Math.floor(((Date.now() - month) * (i + 1)) / 7);
        const value = `${i + 1}.5`;
        const model = i % 2 === 0 ? 'a' : 'b';
        truth.set(`${prefix}-${i}`, { at, value, model });
        events.push({ id: `${prefix}-${i}`, meter: 'tokens', timestamp: new Date(at).toISOString(), value, properties: { model } });
      }
    }
    expect(await api(stack, 'POST', '/v1/events', key, events)).toMatchObject({ status: 202, body: { accepted: 12 } });
    await stack.drained();
    expect(await invoicing(monthStart(0))).toMatchObject({ issued: 1 });
  });
  afterAll(() => stack?.stop());

  it('voids and replaces through the API, moving the counters by the exact difference, once per correction id', async () => {
    const voided = await correct('c-0', { correctionId: 'fix-1', action: 'void', reason: 'test traffic' });
    expect(voided).toMatchObject({ status: 201, body: { action: 'void', by: 'tenant', before: { id: 'c-0', value: '1.5' } } });
    expect(voided.body.after).toBeUndefined();
    truth.delete('c-0');
    expect(await correct('c-0', { correctionId: 'fix-1', action: 'void' })).toMatchObject({
      status: 200,
      body: { correctedAt: voided.body.correctedAt },
    });
    expect(await correct('c-0', { correctionId: 'fix-2', action: 'void' })).toMatchObject({ status: 409, body: { field: 'id' } });

    const replaced = await correct('c-1', { correctionId: 'fix-3', action: 'replace', value: '0.25', properties: { model: 'a' } });
    expect(replaced).toMatchObject({
      status: 201,
      body: { before: { value: '2.5', groupKey: 'model=b' }, after: { value: '0.25', groupKey: 'model=a' } },
    });
    truth.set('c-1', { ...truth.get('c-1')!, value: '0.25', model: 'a' });

    // An invoiced period, by an admin.
    expect(
      await correct('p-2', { correctionId: 'fix-4', action: 'replace', value: 30 }, admin, '/v1/admin/tenants/fix/events/p-2/corrections'),
    ).toMatchObject({ status: 201, body: { by: 'admin', after: { value: '30' } } });
    truth.set('p-2', { ...truth.get('p-2')!, value: '30' });
    expect(await correct('p-3', { correctionId: 'fix-5', action: 'void' })).toMatchObject({ status: 201 });
    truth.delete('p-3');

    expect(await correct('c-2', { correctionId: 'bad', action: 'replace', value: -1 })).toMatchObject({
      status: 400,
      body: { code: 'INVALID_REQUEST', field: 'value' },
    });
    expect(await correct('c-2', { correctionId: 'bad', action: 'replace' })).toMatchObject({ status: 400, body: { field: 'value' } });
    expect(await correct('nope', { correctionId: 'fix-6', action: 'void' })).toMatchObject({ status: 404, body: { field: 'id' } });
    expect(await correct('c-2', { correctionId: 'fix-1', action: 'void' })).toMatchObject({ status: 409, body: { field: 'correctionId' } });
    await expectCountersTrue();
  });

  it('applies a correction exactly once when the store crashes before or after its write', async () => {
    const { crashNext, replace } = crashingCorrections(stack, 'fix', tokens);
    for (const [when, id, correctionId, value] of [
      ['before', 'c-3', 'crash-1', '9'],
      ['after', 'p-4', 'crash-2', '0.001'],
    ] as const) {
      crashNext(when);
      await expect(replace(id, correctionId, value)).rejects.toThrow(/crashed/);
      // The retry, as the caller makes it: the same correction id.
      expect(await replace(id, correctionId, value)).toMatchObject({ duplicate: when === 'after' });
      expect(await replace(id, correctionId, value)).toMatchObject({ duplicate: true });
      truth.set(id, { ...truth.get(id)!, value });
    }
    await expectCountersTrue();
  });

  it('shows open-period corrections on the upcoming invoice and invoiced-period ones as adjustment lines on the next', async () => {
    const current = [...truth.values()].filter((e) => e.at >= monthStart(0)).reduce((s, e) => s.plus(e.value), new Dec(0));
    const upcoming = (await api(stack, 'GET', '/v1/invoices/upcoming', key)).body;
    expect(upcoming.lines.find((l: { meter?: string; kind: string }) => l.kind === 'usage' && l.meter === 'tokens')).toMatchObject({
      quantity: current.toFixed(),
    });

    expect(await invoicing(monthStart(1))).toMatchObject({ issued: 1 });
    const [next] = (await api(stack, 'GET', '/v1/invoices', key)).body.invoices;
    const invoice = (await api(stack, 'GET', `/v1/invoices/${next.number}`, key)).body;
    expect(invoice.lines.find((l: { meter?: string; kind: string }) => l.kind === 'usage' && l.meter === 'tokens')).toMatchObject({
      quantity: current.toFixed(),
    });
    const billedBefore = new Dec('1.5').plus('2.5').plus('3.5').plus('4.5').plus('5.5').plus('6.5');
    const previous = [...truth.values()].filter((e) => e.at < monthStart(0)).reduce((s, e) => s.plus(e.value), new Dec(0));
    const adjustment = invoice.lines.find((l: { kind: string }) => l.kind === 'adjustment');
    expect(adjustment).toMatchObject({
      meter: 'tokens',
      amount: previous.minus(billedBefore).times('0.01').toDecimalPlaces(2, Dec.ROUND_HALF_UP).toFixed(2),
    });
  });
});
