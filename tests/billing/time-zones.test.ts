import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { invoiceDocument } from '../../shared/billing/invoice-document.js';
import { draftInvoice } from '../../shared/billing/invoice-drafts.js';
import { unsetSeller } from '../../shared/billing/parties.js';
import { quotaPeriod } from '../../shared/billing/quotas.js';
import {
  changeSubscription,
  newSubscription,
  periodAt,
  type Subscription,
  subscriptionRequestSchema,
} from '../../shared/billing/subscriptions.js';
import { Dec } from '../../shared/kernel/decimal.js';
import type { Period } from '../../shared/kernel/periods.js';
import { calendarDays, isTimeZone, localDate, localMonth, offsetMinutes, startOfDay, UTC } from '../../shared/kernel/zones.js';
import { billedQuantity, dayQuantities, dayTotals } from '../../shared/metering/period-usage.js';
import { planMeterReport, reportDays, reportingPeriod } from '../../shared/stripe/meter-reporting.js';
import { subscriptionSpec } from '../../shared/stripe/products.js';
import { billingReads, counterReads, gpuHours, meters, TENANT, type Use, usageEvents } from './time-zone-world.js';

/*
 * Four tenants, each across a DST change or on a half- or quarter-hour offset. Every figure below is worked out by
 * hand from the zone's rules (2026: Sydney leaves DST on Apr 5 at 03:00 AEDT, New York enters it on Mar 8 at 02:00
 * EST; Kolkata is +05:30 and Kathmandu +05:45 all year).
 */

const t = (s: string) => Date.parse(s);
const iso = (ms: number) => new Date(ms).toISOString();
const span = (p: Period) => [iso(p.start), iso(p.end)];
const meter = (key: string) => meters.find((m) => m.key === key)!;

function subscribe(timeZone: string, startAt: string, planId = 'base-199'): Subscription {
  return newSubscription({ tenantId: TENANT, planId, interval: 'month', currency: 'USD', startAt: t(startAt), timeZone, now: t(startAt) });
}

function world(uses: Use[]) {
  const counters = counterReads(usageEvents(uses));
  return { counters, reads: billingReads(counters) };
}

async function days(uses: Use[], sub: Subscription, key: string, period: Period) {
  const { counters } = world(uses);
  const list = await dayQuantities(counters, TENANT, meter(key), calendarDays(sub.timeZones, period), period.end);
  return list.filter((d) => d.events > 0 || key === 'storage_gb').map((d) => [d.day, d.value]);
}

/** What the daily Stripe report sends for the orders meter at `now`: [local day, quantity, the event's timestamp]. */
async function stripeDays(uses: Use[], sub: Subscription, now: string) {
  const { counters } = world(uses);
  const days = reportDays(sub.timeZones, t(now));
  const spans = new Map(days.map((d) => [d.day, d]));
  const totals = (await dayTotals(counters.values, TENANT, meter('orders'), days)).filter((d) => d.events > 0);
  const steps = planMeterReport({
    tenantId: TENANT,
    meter: meter('orders'),
    days: totals.map((d) => ({ day: d.day, span: d, value: d.value, period: reportingPeriod(sub, d.start) })),
    records: new Map(),
    now: t(now),
    dayStart: (day) => spans.get(day)!.start,
  });
  return steps.map((s) => (s.kind === 'send' ? [s.day, s.event.value, iso(s.event.timestamp * 1000)] : [s.day, s.kind]));
}

const lineOf = (lines: { meter?: string; quantity?: string; amount: string; kind: string }[], key: string) =>
  lines.find((l) => l.meter === key && l.kind === 'usage');

describe('Sydney: April 2026 gains an hour (AEDT +11 to AEST +10 on Apr 5)', () => {
  const sub = subscribe('Australia/Sydney', '2026-03-01T00:00:00+11:00');
  const april = periodAt(sub, t('2026-04-10T00:00:00Z'));
  const uses: Use[] = [
    { meter: 'orders', at: '2026-03-31T12:59:00Z' }, // Mar 31 23:59 AEDT: March
    { meter: 'orders', at: '2026-04-04T12:59:00Z' }, // Apr 4 23:59 AEDT
    { meter: 'orders', at: '2026-04-04T13:00:00Z' }, // Apr 5 00:00 AEDT
    { meter: 'orders', at: '2026-04-05T13:59:00Z' }, // Apr 5 23:59 AEST, the 25th hour of the day
    { meter: 'orders', at: '2026-04-05T14:00:00Z' }, // Apr 6 00:00 AEST
    { meter: 'orders', at: '2026-04-30T13:59:00Z' }, // Apr 30 23:59 AEST
    { meter: 'orders', at: '2026-04-30T14:00:00Z' }, // May 1 00:00 AEST: May
    { meter: 'storage_gb', at: '2026-04-15T14:00:00Z', value: '100' }, // from Apr 16 00:00 AEST
  ];

  it('cuts the period at local midnights: 721 hours', () => {
    expect(sub.startedAt).toBe('2026-02-28T13:00:00.000Z');
    expect(span(april)).toEqual(['2026-03-31T13:00:00.000Z', '2026-04-30T14:00:00.000Z']);
    expect((april.end - april.start) / 3_600_000).toBe(721);
  });

  it('counts Apr 5 as one day of 25 hours', async () => {
    expect(await days(uses, sub, 'orders', april)).toEqual([
      ['2026-04-04', '1'],
      ['2026-04-05', '2'],
      ['2026-04-06', '1'],
      ['2026-04-30', '1'],
    ]);
    const apr5 = calendarDays(sub.timeZones, april).find((d) => d.day === '2026-04-05')!;
    expect(span(apr5)).toEqual(['2026-04-04T13:00:00.000Z', '2026-04-05T14:00:00.000Z']);
  });

  it('invoices 5 orders and 100 GB for 360 of 721 hours', async () => {
    const { reads } = world(uses);
    const draft = await draftInvoice(reads, sub, april, []);
    // 5 × $0.10; 100 × 360 / 721 = 49.930651… GB-months → 49.930652 × $1.00 = $49.93; + $199 base
    expect(lineOf(draft.lines, 'orders')).toMatchObject({ quantity: '5', amount: '0.50' });
    expect(lineOf(draft.lines, 'storage_gb')).toMatchObject({ quantity: '49.930652', amount: '49.93' });
    expect(draft.total).toBe('249.43');
  });

  it('dates the invoice in Sydney: Apr 1 to Apr 30, issued May 1 and due May 15 there', async () => {
    const { reads } = world(uses);
    const draft = await draftInvoice(reads, sub, april, []);
    expect(draft.timeZone).toBe('Australia/Sydney');
    const invoice = {
      ...draft,
      id: 'INV-1',
      number: 'INV-1',
      status: 'open' as const,
      issuedAt: '2026-04-30T15:00:00.000Z',
      statusHistory: [],
    };
    expect(invoiceDocument(invoice, unsetSeller, { name: 'Lab', address: [] })).toMatchObject({
      periodFrom: '2026-04-01',
      periodTo: '2026-04-30',
      issued: '2026-05-01',
      due: '2026-05-15',
    });
  });

  it('reports each local day to Stripe stamped at its middle (11:30 AEST on the 25-hour Apr 5)', async () => {
    expect(await stripeDays(uses, sub, '2026-04-07T00:00:00Z')).toEqual([
      ['2026-03-31', '1', '2026-03-31T01:00:00.000Z'],
      ['2026-04-04', '1', '2026-04-04T01:00:00.000Z'],
      ['2026-04-05', '2', '2026-04-05T01:30:00.000Z'],
      ['2026-04-06', '1', '2026-04-06T02:00:00.000Z'],
    ]);
  });

  it('anchors the Stripe subscription at the UTC time of local midnight on the 1st: the 31st (clamped), 13:00 UTC', () => {
    expect(subscriptionSpec(sub, [], t('2026-04-10T00:00:00Z'))?.anchorConfig).toEqual({ dayOfMonth: 31, hour: 13, minute: 0 });
  });

  it('resets quotas at May 1 00:00 AEST', () => {
    expect(iso(quotaPeriod(sub, t('2026-04-10T00:00:00Z')).end)).toBe('2026-04-30T14:00:00.000Z');
  });
});

describe('New York: March 2026 loses an hour (EST -5 to EDT -4 on Mar 8)', () => {
  const sub = subscribe('America/New_York', '2026-02-01T00:00:00-05:00');
  const march = periodAt(sub, t('2026-03-10T00:00:00Z'));
  const uses: Use[] = [
    { meter: 'orders', at: '2026-03-08T04:59:00Z' }, // Mar 7 23:59 EST
    { meter: 'orders', at: '2026-03-08T05:00:00Z' }, // Mar 8 00:00 EST
    { meter: 'orders', at: '2026-03-09T03:59:00Z' }, // Mar 8 23:59 EDT, the 23rd and last hour of the day
    { meter: 'orders', at: '2026-03-09T04:00:00Z' }, // Mar 9 00:00 EDT
    { meter: 'orders', at: '2026-04-01T03:59:00Z' }, // Mar 31 23:59 EDT: still March
    { meter: 'storage_gb', at: '2026-03-16T04:00:00Z', value: '100' }, // from Mar 16 00:00 EDT
  ];

  it('cuts the period at local midnights: 743 hours', () => {
    expect(span(march)).toEqual(['2026-03-01T05:00:00.000Z', '2026-04-01T04:00:00.000Z']);
    expect((march.end - march.start) / 3_600_000).toBe(743);
  });

  it('counts Mar 8 as one day of 23 hours', async () => {
    expect(await days(uses, sub, 'orders', march)).toEqual([
      ['2026-03-07', '1'],
      ['2026-03-08', '2'],
      ['2026-03-09', '1'],
      ['2026-03-31', '1'],
    ]);
    const mar8 = calendarDays(sub.timeZones, march).find((d) => d.day === '2026-03-08')!;
    expect((mar8.end - mar8.start) / 3_600_000).toBe(23);
  });

  it('invoices 5 orders and 100 GB for 384 of 743 hours', async () => {
    const { reads } = world(uses);
    const draft = await draftInvoice(reads, sub, march, []);
    // 100 × 384 / 743 = 51.682368… → 51.682369 GB-months, $51.68
    expect(lineOf(draft.lines, 'orders')).toMatchObject({ quantity: '5', amount: '0.50' });
    expect(lineOf(draft.lines, 'storage_gb')).toMatchObject({ quantity: '51.682369', amount: '51.68' });
    expect(draft.total).toBe('251.18');
  });

  it('reports each local day to Stripe stamped at its middle (12:30 EDT on the 23-hour Mar 8)', async () => {
    expect(await stripeDays(uses, sub, '2026-03-10T12:00:00Z')).toEqual([
      ['2026-03-07', '1', '2026-03-07T17:00:00.000Z'],
      ['2026-03-08', '2', '2026-03-08T16:30:00.000Z'],
      ['2026-03-09', '1', '2026-03-09T16:00:00.000Z'],
    ]);
  });

  it('anchors the Stripe subscription on the 1st at 05:00 UTC (EST when it was created)', () => {
    expect(subscriptionSpec(sub, [], t('2026-03-10T00:00:00Z'))?.anchorConfig).toEqual({ dayOfMonth: 1, hour: 5, minute: 0 });
  });

  it('resets quotas at Apr 1 00:00 EDT', () => {
    expect(iso(quotaPeriod(sub, t('2026-03-10T00:00:00Z')).end)).toBe('2026-04-01T04:00:00.000Z');
  });
});

describe('Kolkata: +05:30, a day starts at 18:30 UTC, inside a UTC hour', () => {
  const sub = subscribe('Asia/Kolkata', '2026-04-01T00:00:00+05:30');
  const april = periodAt(sub, t('2026-04-10T00:00:00Z'));
  const uses: Use[] = [
    { meter: 'orders', at: '2026-04-10T18:29:59Z' }, // Apr 10 23:59:59 IST
    { meter: 'orders', at: '2026-04-10T18:30:00Z' }, // Apr 11 00:00 IST, same UTC hour
    { meter: 'seats', at: '2026-04-10T18:20:00Z', value: 'ana' }, // Apr 10
    { meter: 'seats', at: '2026-04-10T18:40:00Z', value: 'ana' }, // Apr 11
    { meter: 'seats', at: '2026-04-10T18:40:00Z', value: 'ben' }, // Apr 11
    { meter: 'peak', at: '2026-04-10T18:29:00Z', value: '7' }, // Apr 10
    { meter: 'peak', at: '2026-04-10T18:31:00Z', value: '3' }, // Apr 11: the UTC hour's peak (7) is not its own
    { meter: 'storage_gb', at: '2026-04-15T18:00:00Z', value: '30' }, // Apr 15 23:30 IST
    { meter: 'storage_gb', at: '2026-04-30T18:15:00Z', value: '60' }, // Apr 30 23:45 IST: the period's last quarter-hour
  ];

  it('cuts the period at 18:30 UTC', () => {
    expect(span(april)).toEqual(['2026-03-31T18:30:00.000Z', '2026-04-30T18:30:00.000Z']);
  });

  it('splits the UTC hour between two local days, exactly for COUNT, UNIQUE_COUNT and MAX', async () => {
    expect(await days(uses, sub, 'orders', april)).toEqual([
      ['2026-04-10', '1'],
      ['2026-04-11', '1'],
    ]);
    expect(await days(uses, sub, 'seats', april)).toEqual([
      ['2026-04-10', '1'],
      ['2026-04-11', '2'],
    ]);
    expect(await days(uses, sub, 'peak', april)).toEqual([
      ['2026-04-10', '7'],
      ['2026-04-11', '3'],
    ]);
    const { counters } = world(uses);
    expect(await billedQuantity(counters, TENANT, meter('seats'), april, april.end)).toBe('2');
  });

  it('invoices 2 orders, and the gauge by quarter-hours where the period cuts an hour', async () => {
    const { reads } = world(uses);
    const draft = await draftInvoice(reads, sub, april, []);
    // 30 GB from Apr 15 18:00 UTC to Apr 30 18:15 (360.25 h), then 60 GB for the last quarter-hour:
    // (30 × 360.25 + 60 × 0.25) / 720 = 15.03125 GB-months, $15.03
    expect(lineOf(draft.lines, 'orders')).toMatchObject({ quantity: '2', amount: '0.20' });
    expect(lineOf(draft.lines, 'storage_gb')).toMatchObject({ quantity: '15.03125', amount: '15.03' });
    expect(draft.total).toBe('214.23');
  });

  it('reports each local day to Stripe stamped at its noon, 06:30 UTC', async () => {
    expect(await stripeDays(uses, sub, '2026-04-12T00:00:00Z')).toEqual([
      ['2026-04-10', '1', '2026-04-10T06:30:00.000Z'],
      ['2026-04-11', '1', '2026-04-11T06:30:00.000Z'],
    ]);
  });

  it('anchors the Stripe subscription at 18:30 UTC', () => {
    expect(subscriptionSpec(sub, [], t('2026-04-10T00:00:00Z'))?.anchorConfig).toEqual({ dayOfMonth: 31, hour: 18, minute: 30 });
  });

  it('resets quotas at May 1 00:00 IST', () => {
    expect(iso(quotaPeriod(sub, t('2026-04-10T00:00:00Z')).end)).toBe('2026-04-30T18:30:00.000Z');
  });
});

describe('Kathmandu: +05:45, a day starts at 18:15 UTC', () => {
  const sub = subscribe('Asia/Kathmandu', '2026-04-01T00:00:00+05:45');
  const april = periodAt(sub, t('2026-04-10T00:00:00Z'));
  const uses: Use[] = [
    { meter: 'orders', at: '2026-03-31T18:14:59Z' }, // Mar 31 23:59:59 NPT: March
    { meter: 'orders', at: '2026-04-10T18:14:59Z' }, // Apr 10 23:59:59 NPT
    { meter: 'orders', at: '2026-04-10T18:15:00Z' }, // Apr 11 00:00 NPT
    { meter: 'orders', at: '2026-04-10T18:59:00Z' }, // Apr 11 00:44 NPT
    { meter: 'orders', at: '2026-04-30T18:14:00Z' }, // Apr 30 23:59 NPT
    { meter: 'orders', at: '2026-04-30T18:15:00Z' }, // May 1 00:00 NPT: May
  ];

  it('cuts the period at 18:15 UTC', () => {
    expect(offsetMinutes('Asia/Kathmandu', april.start)).toBe(345);
    expect(span(april)).toEqual(['2026-03-31T18:15:00.000Z', '2026-04-30T18:15:00.000Z']);
  });

  it('counts each local day from its three quarter-hours, its hours and its last quarter-hour', async () => {
    expect(await days(uses, sub, 'orders', april)).toEqual([
      ['2026-04-10', '1'],
      ['2026-04-11', '2'],
      ['2026-04-30', '1'],
    ]);
  });

  it('invoices 4 orders', async () => {
    const { reads } = world(uses);
    const draft = await draftInvoice(reads, sub, april, []);
    expect(lineOf(draft.lines, 'orders')).toMatchObject({ quantity: '4', amount: '0.40' });
    expect(draft.total).toBe('199.40');
  });

  it('reports each local day to Stripe stamped at its noon, 06:15 UTC', async () => {
    expect(await stripeDays(uses, sub, '2026-04-12T00:00:00Z')).toEqual([
      ['2026-03-31', '1', '2026-03-31T06:15:00.000Z'],
      ['2026-04-10', '1', '2026-04-10T06:15:00.000Z'],
      ['2026-04-11', '2', '2026-04-11T06:15:00.000Z'],
    ]);
  });

  it('resets quotas at May 1 00:00 NPT', () => {
    expect(iso(quotaPeriod(sub, t('2026-04-10T00:00:00Z')).end)).toBe('2026-04-30T18:15:00.000Z');
  });
});

describe('changing the zone', () => {
  const utc = subscribe('UTC', '2026-01-01T00:00:00Z');
  const change = (sub: Subscription, timeZone: string, now: string) => changeSubscription(sub, { timeZone }, { now: t(now), notBefore: 0 });

  it('takes effect at the end of the current period: the period already cut, and its invoice, stay as they were', async () => {
    const sydney = change(utc, 'Australia/Sydney', '2026-02-10T00:00:00Z');
    expect(sydney.timeZones).toEqual([
      { from: '1970-01-01T00:00:00.000Z', timeZone: 'UTC' },
      { from: '2026-03-01T00:00:00.000Z', timeZone: 'Australia/Sydney' },
    ]);
    expect(sydney.history.at(-1)).toMatchObject({
      action: 'time_zone_changed',
      timeZone: 'Australia/Sydney',
      effectiveAt: '2026-03-01T00:00:00.000Z',
    });
    expect(span(periodAt(sydney, t('2026-02-10T00:00:00Z')))).toEqual(span(periodAt(utc, t('2026-02-10T00:00:00Z'))));
    // The first Sydney period runs from the UTC boundary to Sydney's Apr 1; then Sydney's months.
    expect(span(periodAt(sydney, t('2026-03-10T00:00:00Z')))).toEqual(['2026-03-01T00:00:00.000Z', '2026-03-31T13:00:00.000Z']);
    expect(span(periodAt(sydney, t('2026-04-10T00:00:00Z')))).toEqual(['2026-03-31T13:00:00.000Z', '2026-04-30T14:00:00.000Z']);

    const uses: Use[] = [{ meter: 'orders', at: '2026-02-28T20:00:00Z' }];
    const { reads } = world(uses);
    const february = periodAt(utc, t('2026-02-10T00:00:00Z'));
    expect(await draftInvoice(reads, sydney, periodAt(sydney, february.start), [])).toEqual(await draftInvoice(reads, utc, february, []));
  });

  it('westward, the first period reaches the new zone’s boundary a month on, and its days never repeat a key', () => {
    const ny = change(utc, 'America/New_York', '2026-02-10T00:00:00Z');
    const first = periodAt(ny, t('2026-03-01T02:00:00Z'));
    expect(span(first)).toEqual(['2026-03-01T00:00:00.000Z', '2026-04-01T04:00:00.000Z']);
    const around = calendarDays(ny.timeZones, { start: t('2026-02-28T00:00:00Z'), end: t('2026-03-02T05:00:00Z') });
    expect(around.map((d) => [d.day, ...span(d)])).toEqual([
      ['2026-02-28', '2026-02-28T00:00:00.000Z', '2026-03-01T05:00:00.000Z'],
      ['2026-03-01', '2026-03-01T05:00:00.000Z', '2026-03-02T05:00:00.000Z'],
    ]);
  });

  it('refuses a name that is not a zone', () => {
    expect(isTimeZone('Asia/Kolkata')).toBe(true);
    expect(isTimeZone('+05:30')).toBe(false);
    expect(isTimeZone('Mars/Olympus_Mons')).toBe(false);
    expect(subscriptionRequestSchema.safeParse({ timeZone: 'Mars/Olympus_Mons' }).error?.issues[0]).toMatchObject({ path: ['timeZone'] });
    expect(subscriptionRequestSchema.parse({ timeZone: 'Asia/Kathmandu' })).toEqual({ timeZone: 'Asia/Kathmandu' });
  });
});

describe('property: any zone’s days add up to its month, and to the UTC computation over the same instants', () => {
  const DAY = 86_400_000;
  const sumOf = (events: { timestamp: string; value: string }[], p: Period) =>
    events.filter((e) => t(e.timestamp) >= p.start && t(e.timestamp) < p.end).reduce((s, e) => s.plus(e.value), new Dec(0));

  it('holds for SUM over random events, to the millisecond, in every zone Intl knows', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          'UTC',
          'Asia/Kolkata',
          'Asia/Kathmandu',
          'Australia/Lord_Howe',
          'Pacific/Chatham',
          ...Intl.supportedValuesOf('timeZone'),
        ),
        fc.integer({ min: 0, max: 400 * DAY }),
        fc.array(
          fc.record({
            // From three days before the month to three days after it, so events fall on both sides of its ends.
            at: fc.double({ min: -0.1, max: 1.1, noNaN: true }),
            value: fc.tuple(fc.nat(10_000), fc.nat(999)).map(([a, b]) => `${a}.${String(b).padStart(3, '0')}`),
          }),
          { maxLength: 60 },
        ),
        async (timeZone, offset, raw) => {
          const month = localMonth(timeZone, t('2026-01-01T00:00:00Z') + offset);
          const at = (x: number) => iso(Math.round(month.start + x * (month.end - month.start)));
          const events = usageEvents(raw.map((r) => ({ meter: gpuHours.key, at: at(r.at), value: r.value })));
          const counters = counterReads(events);
          const days = await dayQuantities(counters, TENANT, gpuHours, calendarDays([{ from: iso(0), timeZone }], month), month.end);
          const daysTotal = days.reduce((s, d) => s.plus(d.value), new Dec(0));
          const monthTotal = new Dec(await billedQuantity(counters, TENANT, gpuHours, month, month.end));
          expect(daysTotal.toFixed()).toBe(monthTotal.toFixed());
          expect(monthTotal.toFixed()).toBe(sumOf(events, month).toFixed());
          for (const d of days) expect(d.value).toBe(sumOf(events, d).toFixed());
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe("UTC's calendar, which skips Intl", () => {
  it("cuts the same days and months as Intl's own UTC, Etc/UTC, from 1970 to 9999", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Date.UTC(9999, 11, 30) }), (instant) => {
        expect(offsetMinutes(UTC, instant)).toBe(offsetMinutes('Etc/UTC', instant));
        expect(localDate(UTC, instant)).toEqual(localDate('Etc/UTC', instant));
        expect(localMonth(UTC, instant)).toEqual(localMonth('Etc/UTC', instant));
        expect(startOfDay(UTC, instant)).toBe(startOfDay('Etc/UTC', instant));
      }),
      { numRuns: 500 },
    );
  });
});
