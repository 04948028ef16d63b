import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { StripeUsageReporter } from '../../shared/stripe/adapters/usage-reporter.js';
import { MeterEventRejected, type MeterReporting } from '../../shared/stripe/meter-reporting.js';

/**
 * The report job's Stripe adapter against Stripe's answers, from a stand-in for the few stripe-node calls it makes:
 * a meter event Stripe has seen, one it refuses, a rate limit, meters listed over several pages, a listing that
 * failed. Retries wait nothing (a zero backoff).
 */
const options = { meterEventsPerSecond: 1_000, requestsPerSecond: 1_000, retry: { maxAttempts: 3, baseMs: 0, capMs: 0 } };
const draft = { eventName: 'meterline_tokens', identifier: 'acme-tokens-2026-03-10T05', timestamp: 1_773_118_800, value: '5000' };
const reporting = { eventName: 'meterline_tokens', displayName: 'Tokens', formula: 'sum' } as MeterReporting;
const invalid = (message: string, code?: string) =>
  new Stripe.errors.StripeInvalidRequestError({
    type: 'invalid_request_error',
    message,
    ...(code ? { code } : {}),
    statusCode: 400,
  } as never);
const rateLimited = () =>
  new Stripe.errors.StripeRateLimitError({ type: 'rate_limit_error', message: 'Too many requests', statusCode: 429 } as never);

/** A stand-in Stripe answering meter events and meters from the given functions. */
function stripe(calls: {
  sendEvent?: (n: number) => unknown;
  listMeters?: (params: any, n: number) => unknown;
  createMeter?: () => unknown;
}) {
  const seen = { events: 0, lists: [] as any[], creates: [] as any[] };
  const client = {
    billing: {
      meterEvents: { create: async () => calls.sendEvent!(seen.events++) },
      meters: {
        list: async (params: any) => {
          seen.lists.push(params);
          return calls.listMeters!(params, seen.lists.length - 1);
        },
        create: async (params: any, opts: any) => {
          seen.creates.push([params, opts]);
          return calls.createMeter!();
        },
      },
    },
  } as unknown as Stripe;
  return { reporter: new StripeUsageReporter(async () => client, options), seen };
}

describe('Stripe usage reporter: meter events', () => {
  it('an event Stripe has seen under its identifier is a duplicate, already reported', async () => {
    const { reporter } = stripe({
      sendEvent: () => Promise.reject(invalid(`An event already exists with identifier ${draft.identifier}.`, 'resource_already_exists')),
    });
    expect(await reporter.sendMeterEvent('cus_1', draft)).toBe('duplicate');
  });

  it('an event Stripe refuses is rejected with its code, or the error type when Stripe gives none', async () => {
    const refused = stripe({ sendEvent: () => Promise.reject(invalid('No such customer: cus_1', 'resource_missing')) });
    await expect(refused.reporter.sendMeterEvent('cus_1', draft)).rejects.toEqual(
      new MeterEventRejected('resource_missing', 'No such customer: cus_1'),
    );
    const uncoded = stripe({ sendEvent: () => Promise.reject(invalid('timestamp is too far in the past')) });
    await expect(uncoded.reporter.sendMeterEvent('cus_1', draft)).rejects.toMatchObject({
      name: 'MeterEventRejected',
      code: 'invalid_request_error',
    });
  });

  it('a rate limit is retried; one that outlasts the attempts is surfaced as it is, not as a rejected event', async () => {
    const once = stripe({ sendEvent: (n) => (n === 0 ? Promise.reject(rateLimited()) : {}) });
    expect(await once.reporter.sendMeterEvent('cus_1', draft)).toBe('sent');
    expect(once.seen.events).toBe(2);
    const always = stripe({ sendEvent: () => Promise.reject(rateLimited()) });
    await expect(always.reporter.sendMeterEvent('cus_1', draft)).rejects.toBeInstanceOf(Stripe.errors.StripeRateLimitError);
    expect(always.seen.events).toBe(3);
  });
});

describe('Stripe usage reporter: meters', () => {
  it('finds a meter on a later page of the listing and creates none', async () => {
    const meter = (id: string, event_name: string) => ({ id, event_name });
    const { reporter, seen } = stripe({
      listMeters: (_, n) =>
        n === 0
          ? { data: [meter('mtr_1', 'meterline_other')], has_more: true }
          : { data: [meter('mtr_2', 'meterline_tokens')], has_more: false },
    });
    expect(await reporter.ensureMeter(reporting)).toBe('mtr_2');
    expect(seen.lists).toEqual([
      { status: 'active', limit: 100 },
      { status: 'active', limit: 100, starting_after: 'mtr_1' },
    ]);
    expect(seen.creates).toEqual([]);
  });

  it('creates a meter the listing lacks, under an idempotency key its event name makes', async () => {
    const { reporter, seen } = stripe({ listMeters: () => ({ data: [], has_more: true }), createMeter: () => ({ id: 'mtr_new' }) });
    expect(await reporter.ensureMeter(reporting)).toBe('mtr_new');
    // An empty page ends the listing even if Stripe says more may follow.
    expect(seen.lists).toHaveLength(1);
    expect(seen.creates[0][1]).toEqual({ idempotencyKey: 'meterline-meter-meterline_tokens' });
  });

  it('a listing that failed is not kept: the next meter lists again', async () => {
    const { reporter, seen } = stripe({
      listMeters: (_, n) =>
        n === 0 ? Promise.reject(invalid('Invalid API key')) : { data: [{ id: 'mtr_1', event_name: 'meterline_tokens' }], has_more: false },
    });
    await expect(reporter.ensureMeter(reporting)).rejects.toThrow('Invalid API key');
    expect(await reporter.ensureMeter(reporting)).toBe('mtr_1');
    expect(seen.lists).toHaveLength(2);
  });
});
