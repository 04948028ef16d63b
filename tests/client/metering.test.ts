import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Entitlement, type Meterline, MeterlineError, type QuotaStatus, type TrackEvent } from '../../clients/node/src/client.js';
import { Metering, type MeteringOptions } from '../../clients/node/src/metering.js';

const t0 = Date.parse('2026-12-10T12:00:00Z');
const period = { start: '2026-12-01T00:00:00Z', end: '2027-01-01T00:00:00Z' };
const prepaid = { currency: 'USD', balance: '-5.00', overdraft: '5.00', owed: '0.00', available: '0.00', exhausted: true };
const quota = (o: Partial<QuotaStatus> = {}): QuotaStatus => ({
  meter: 'api_calls',
  limit: '10',
  usage: '0',
  remaining: '10',
  allowed: true,
  period,
  asOf: new Date(t0).toISOString(),
  ...o,
});

type Req = { tenant?: string; weight?: string };

/** The framework-neutral metering core over a stand-in client: answers the test sets, and what it was asked and given. */
function metering(answers: { quota?: () => QuotaStatus; entitlement?: () => Entitlement }, o: Partial<MeteringOptions<Req>> = {}) {
  const asked: string[] = [];
  const tracked: TrackEvent[] = [];
  const warnings: [string, unknown][] = [];
  const client = {
    quota: async (meter: string, opts: { tenant: string }) => {
      asked.push(`quota ${opts.tenant} ${meter}`);
      if (!answers.quota) throw new Error('no quota answer');
      return answers.quota();
    },
    entitlement: async (feature: string, opts: { tenant: string }) => {
      asked.push(`entitlement ${opts.tenant} ${feature}`);
      if (!answers.entitlement) throw new Error('no entitlement answer');
      return answers.entitlement();
    },
    track: (event: TrackEvent) => void tracked.push(event),
  } as unknown as Meterline;
  const m = new Metering<Req>({
    client,
    tenant: (req) => req.tenant,
    meter: 'api_calls',
    logger: { warn: (msg, data) => void warnings.push([msg, data]), error: () => {} },
    ...o,
  });
  return { m, asked, tracked, warnings };
}

const handled = (statusCode = 200) => ({
  request: { tenant: 'acme' },
  tenant: 'acme',
  statusCode,
  route: 'GET /things/{id}',
  method: 'GET',
  durationMs: 3,
});

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(t0);
});
afterEach(() => vi.useRealTimers());

describe('metering: quotas', () => {
  it('counts each request by its own quantity against the cached quota, and refuses the one that would pass the limit', async () => {
    const { m, asked } = metering({ quota: () => quota({ usage: '7' }) }, { quota: { quantity: (req) => req.weight ?? 1 } });
    expect(await m.admit({ tenant: 'acme', weight: '2.5' })).toEqual({ tenant: 'acme' });
    const refused = await m.admit({ tenant: 'acme', weight: '1' });
    expect(refused.refusal).toEqual({
      statusCode: 429,
      headers: {
        'retry-after': String((Date.parse(period.end) - t0) / 1000),
        'x-quota-limit': '10',
        'x-quota-remaining': '0.5',
        'x-quota-reset': period.end,
      },
      body: {
        code: 'QUOTA_EXCEEDED',
        message: `the api_calls quota of 10 for this period is used up; it resets at ${period.end}`,
        meter: 'api_calls',
        limit: '10',
        usage: '9.5',
        remaining: '0.5',
        resetAt: period.end,
      },
    });
    // What is left still admits a request that fits.
    expect(await m.admit({ tenant: 'acme', weight: '0.5' })).toEqual({ tenant: 'acme' });
    expect(asked).toEqual(['quota acme api_calls']);
    expect(m.stats()).toMatchObject({ refused: 1, quotaFetches: 1 });
  });

  it('asks Meterline again once the cached answer is older than cacheTtlMs', async () => {
    const { m, asked } = metering({ quota: () => quota() }, { quota: { cacheTtlMs: 200 } });
    await m.admit({ tenant: 'acme' });
    vi.setSystemTime(t0 + 199);
    await m.admit({ tenant: 'acme' });
    expect(asked).toHaveLength(1);
    vi.setSystemTime(t0 + 200);
    await m.admit({ tenant: 'acme' });
    expect(asked).toHaveLength(2);
  });

  it('lets every request through on an unlimited quota or a meter without a quota (404), caching that answer too', async () => {
    const unlimited = metering({ quota: () => quota({ limit: 'unlimited' }) }, { quota: {} });
    for (let i = 0; i < 3; i++) expect(await unlimited.m.admit({ tenant: 'acme' })).toEqual({ tenant: 'acme' });
    const none = metering(
      {
        quota: () => {
          throw new MeterlineError(404, { code: 'NOT_FOUND', message: 'no quota on meter api_calls' });
        },
      },
      { quota: {} },
    );
    for (let i = 0; i < 3; i++) expect(await none.m.admit({ tenant: 'acme' })).toEqual({ tenant: 'acme' });
    expect(none.asked).toHaveLength(1);
    expect(none.m.stats()).toMatchObject({ failedOpen: 0, failedClosed: 0 });
  });

  it('answers 402 without Retry-After when a prepaid balance is used up: waiting does not help, buying credits does', async () => {
    const { m } = metering({ quota: () => quota({ allowed: false, reason: 'BALANCE_EXHAUSTED', prepaid }) }, { quota: {} });
    const { refusal } = await m.admit({ tenant: 'acme' });
    expect(refusal).toEqual({
      statusCode: 402,
      headers: { 'x-credit-balance': '-5.00', 'x-credit-available': '0.00', 'x-credit-currency': 'USD' },
      body: {
        code: 'BALANCE_EXHAUSTED',
        message: 'the prepaid credit balance is used up (0.00 USD available, overdraft included)',
        ...prepaid,
      },
    });
    expect(m.stats().balanceRefused).toBe(1);
  });

  it('leaves a request without a tenant unchecked and unrefused', async () => {
    const { m, asked } = metering({ quota: () => quota({ limit: '0' }) }, { quota: {} });
    expect(await m.admit({})).toEqual({});
    expect(asked).toEqual([]);
  });

  it('warns at most once a second through an outage while counting every failed check', async () => {
    const { m, warnings } = metering({}, { quota: { failureTtlMs: 0 } });
    await m.admit({ tenant: 'acme' });
    vi.setSystemTime(t0 + 1);
    await m.admit({ tenant: 'acme' });
    vi.setSystemTime(t0 + 999);
    await m.admit({ tenant: 'acme' });
    expect(warnings).toHaveLength(1);
    vi.setSystemTime(t0 + 1000);
    await m.admit({ tenant: 'acme' });
    expect(warnings).toEqual([
      ['quota check failed; letting the request through (failOpen)', { error: 'no quota answer', failedOpen: 1, failedClosed: 0 }],
      ['quota check failed; letting the request through (failOpen)', { error: 'no quota answer', failedOpen: 4, failedClosed: 0 }],
    ]);
    expect(m.stats()).toMatchObject({ failedOpen: 4, quotaFetches: 4 });
  });
});

describe('metering: features', () => {
  const metered = (o: Partial<Entitlement>): Entitlement => ({
    feature: 'exports',
    kind: 'metered',
    hasAccess: false,
    meter: 'exports',
    usage: '20',
    limit: '20',
    remaining: '0',
    resetsAt: period.end,
    reason: 'LIMIT_REACHED',
    ...o,
  });

  it('refuses a metered feature whose allowance is used up with its usage, limit and reset', async () => {
    const { m } = metering({ entitlement: () => metered({}) });
    expect((await m.requireFeature({ tenant: 'acme' }, 'exports')).refusal).toEqual({
      statusCode: 403,
      headers: {},
      body: {
        code: 'FEATURE_NOT_INCLUDED',
        message: `the exports allowance of 20 for this period is used up; it resets at ${period.end}`,
        feature: 'exports',
        limit: '20',
        usage: '20',
        resetsAt: period.end,
      },
    });
    expect(m.stats().featureRefused).toBe(1);
  });

  it('answers 402 for a feature refused because the prepaid balance is used up', async () => {
    const { m } = metering({ entitlement: () => metered({ reason: 'BALANCE_EXHAUSTED', prepaid }) });
    expect((await m.requireFeature({ tenant: 'acme' }, 'exports')).refusal).toMatchObject({
      statusCode: 402,
      body: { code: 'BALANCE_EXHAUSTED' },
    });
    expect(m.stats()).toMatchObject({ balanceRefused: 1, featureRefused: 0 });
  });

  it('reuses an answer for cacheTtlMs and a failure for failureTtlMs', async () => {
    let up = false;
    const { m, asked } = metering(
      {
        entitlement: () => {
          if (!up) throw new Error('down');
          return metered({ hasAccess: true, reason: undefined });
        },
      },
      { entitlements: { cacheTtlMs: 300, failureTtlMs: 100 } },
    );
    expect(await m.requireFeature({ tenant: 'acme' }, 'exports')).toEqual({ tenant: 'acme' });
    up = true;
    vi.setSystemTime(t0 + 99);
    await m.requireFeature({ tenant: 'acme' }, 'exports');
    expect(asked).toHaveLength(1);
    vi.setSystemTime(t0 + 100);
    expect(await m.requireFeature({ tenant: 'acme' }, 'exports')).toEqual({ tenant: 'acme' });
    vi.setSystemTime(t0 + 399);
    await m.requireFeature({ tenant: 'acme' }, 'exports');
    expect(asked).toHaveLength(2);
    vi.setSystemTime(t0 + 400);
    await m.requireFeature({ tenant: 'acme' }, 'exports');
    expect(asked).toHaveLength(3);
  });
});

describe('metering: usage events', () => {
  it('records route, method and status by default, and value and subject when given', async () => {
    const { m, tracked } = metering(
      {},
      { value: (h) => (h.statusCode === 200 ? '1.5' : undefined), subject: (h) => (h.statusCode === 200 ? 'user-1' : undefined) },
    );
    m.record(handled(200));
    m.record(handled(404));
    expect(tracked).toEqual([
      {
        meter: 'api_calls',
        tenant: 'acme',
        value: '1.5',
        subject: 'user-1',
        properties: { route: 'GET /things/{id}', method: 'GET', status: 200 },
      },
      { meter: 'api_calls', tenant: 'acme', properties: { route: 'GET /things/{id}', method: 'GET', status: 404 } },
    ]);
    expect(m.stats().metered).toBe(2);
  });

  it('skips the requests `skip` chooses and sends no properties when `properties` gives none', async () => {
    const { m, tracked } = metering({}, { skip: (h) => h.statusCode >= 500, properties: () => undefined });
    m.record(handled(503));
    m.record(handled(201));
    expect(tracked).toEqual([{ meter: 'api_calls', tenant: 'acme' }]);
    expect(m.stats().metered).toBe(1);
  });
});
