import { describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../shared/events/domain-events.js';
import type { InvoiceState, MeterErrorReport, Mirrored, SubscriptionState } from '../../shared/stripe/mirror.js';
import { actOnNotification } from '../../shared/stripe/notifications.js';

/**
 * Acting on verified Stripe webhooks, over a mirror store, Stripe and Meterline's invoices in memory: what is stored,
 * raised, announced and logged. Stripe's times are epoch seconds.
 */
const now = Date.parse('2026-04-01T01:00:00Z');
const s = (iso: string) => Date.parse(iso) / 1000;
const subscription: SubscriptionState = {
  id: 'sub_1',
  customerId: 'cus_acme',
  status: 'active',
  cancelAtPeriodEnd: false,
  canceledAt: null,
  items: [],
};
const invoice: InvoiceState = {
  id: 'in_1',
  customerId: 'cus_acme',
  status: 'open',
  subscriptionId: 'sub_1',
  currency: 'usd',
  periodStart: s('2026-03-01T00:00:00Z'),
  periodEnd: s('2026-04-01T00:00:00Z'),
  total: 4250,
  amountPaid: 0,
  hostedInvoiceUrl: 'https://invoice.stripe.example/in_1',
  lines: [],
};

function world(o: { stored?: Mirrored<SubscriptionState>; holds?: boolean; report?: MeterErrorReport } = {}) {
  const log: string[] = [];
  const stored: string[] = [];
  const issues: { id: string; tenantId?: string; kind: string }[] = [];
  const published: DomainEvent[] = [];
  const followed: string[] = [];
  const held: number[] = [];
  const deps = {
    provider: {
      subscription: async () => ({ ...subscription, status: 'past_due' }),
      invoiceLines: async () => [{ priceId: null, quantity: '1', amount: 100 }],
      eventNameOfPrice: async () => null,
      meterErrorReport: async () => o.report!,
      holdDraft: async (_id: string, until: number) => {
        held.push(until);
        return o.holds ?? true;
      },
    },
    store: {
      tenantOfCustomer: async (id: string) => (id === 'cus_acme' ? 'acme' : undefined),
      subscription: async () => o.stored,
      putSubscription: async (_t: string, m: Mirrored<SubscriptionState>) => (stored.push(`subscription ${m.state.status}`), true),
      invoice: async () => undefined,
      putInvoice: async (_t: string, m: Mirrored<InvoiceState>) => (
        stored.push(`invoice ${m.state.status} ${m.state.lines.length} line(s)`), true
      ),
      raiseIssue: async (issue: { id: string; tenantId?: string; kind: string }) => void issues.push(issue),
    } as never,
    meters: async () => [],
    invoices: {
      invoiceForPeriod: async () => ({ number: 'INV-0007', currency: 'usd', lines: [] }),
      followProviderInvoice: async (_t: string, _p: number, p: { id: string; status: string }) => void followed.push(`${p.id} ${p.status}`),
    },
    publish: async (e: DomainEvent) => void published.push(e),
    now: () => now,
    graceHours: 24,
    log: {
      info: (m: string) => void log.push(`info ${m}`),
      warn: (m: string) => void log.push(`warn ${m}`),
      error: (m: string) => void log.push(`error ${m}`),
    },
  };
  return { deps, log, stored, issues, published, followed, held };
}

const onInvoice = (type: string, inv: Partial<InvoiceState> = {}, moreLines = false) =>
  ({
    kind: 'invoice',
    eventId: `evt_${type}`,
    type,
    created: s('2026-04-01T00:30:00Z'),
    invoice: { ...invoice, ...inv },
    moreLines,
  }) as const;

describe('Stripe webhooks: subscriptions', () => {
  const event = (created: number) =>
    ({ kind: 'subscription', eventId: 'evt_s', type: 'customer.subscription.updated', created, subscription }) as const;

  it('mirror a newer state, ignore an older one, and fetch the state from Stripe when two events share a second', async () => {
    const mirrored = { state: subscription, eventId: 'evt_0', eventCreated: 100 };
    const older = world({ stored: mirrored });
    await actOnNotification(older.deps, event(99));
    expect(older.stored).toEqual([]);
    const tie = world({ stored: mirrored });
    await actOnNotification(tie.deps, event(100));
    expect(tie.stored).toEqual(['subscription past_due']);
    const newer = world({ stored: mirrored });
    await actOnNotification(newer.deps, event(101));
    expect(newer.stored).toEqual(['subscription active']);
  });

  it('ignore a customer that is no tenant, saying so in the log', async () => {
    const w = world();
    await actOnNotification(w.deps, { ...event(1), subscription: { ...subscription, customerId: 'cus_other' } });
    expect(w.stored).toEqual([]);
    expect(w.log).toEqual(['warn webhook for a Stripe customer that is no tenant']);
  });
});

describe('Stripe webhooks: invoices', () => {
  it("raise a billing issue for a failed payment and announce it with Meterline's number, the total in major units and the payment page", async () => {
    const w = world();
    await actOnNotification(w.deps, onInvoice('invoice.payment_failed'));
    expect(w.issues).toEqual([expect.objectContaining({ id: 'payment-failed:in_1', tenantId: 'acme', kind: 'PAYMENT_FAILED' })]);
    expect(w.published.map((e) => [e.type, e.data])).toEqual([
      [
        'invoice.payment_failed',
        {
          stripeInvoiceId: 'in_1',
          number: 'INV-0007',
          currency: 'USD',
          total: '42.5',
          hostedInvoiceUrl: 'https://invoice.stripe.example/in_1',
        },
      ],
    ]);
    expect(w.followed).toEqual(['in_1 open']);
  });

  it('hold a new draft for the grace window and two hours more, and log a draft Stripe finalized first', async () => {
    const draft = onInvoice('invoice.created', { status: 'draft' });
    const w = world();
    await actOnNotification(w.deps, draft);
    expect(w.held).toEqual([s('2026-04-02T02:00:00Z')]);
    const late = world({ holds: false });
    await actOnNotification(late.deps, draft);
    expect(late.log).toEqual(['warn Stripe invoice finalized before Meterline could hold it']);
    // A draft whose hold would already be over is left to finalize.
    const old = world();
    await actOnNotification(
      old.deps,
      onInvoice('invoice.created', { status: 'draft', periodStart: s('2026-01-01T00:00:00Z'), periodEnd: s('2026-02-01T00:00:00Z') }),
    );
    expect(old.held).toEqual([]);
  });

  it("neither follows nor reconciles a one-off invoice (a progressive one Meterline made), and reads all of a long invoice's lines", async () => {
    const w = world();
    await actOnNotification(w.deps, onInvoice('invoice.finalized', { subscriptionId: null }, true));
    expect(w.stored).toEqual(['invoice open 1 line(s)']);
    expect(w.followed).toEqual([]);
    expect(w.log).toEqual([]);
  });
});

describe('Stripe webhooks: meter error reports', () => {
  it("raise an issue per tenant the report's identifiers name and announce that tenant's errors to it", async () => {
    const report: MeterErrorReport = {
      meterId: 'mtr_1',
      summary: '3 invalid meter events',
      errors: [
        {
          code: 'customer_not_found',
          count: 2,
          samples: [
            { message: 'no customer', identifier: 'acme:orders:2026-03-31' },
            { message: 'no customer', identifier: 'globex:orders:2026-03-31' },
          ],
        },
        { code: 'meter_not_found', count: 1, samples: [{ message: 'no meter', identifier: 'acme:gpus:2026-03-31' }] },
      ],
    };
    const w = world({ report });
    expect(
      await actOnNotification(w.deps, {
        kind: 'meter_error_report',
        eventId: 'evt_r',
        type: 'v1.billing.meter.error_report_triggered',
        created: 1,
      }),
    ).toEqual({
      reconciliationMismatches: 0,
      meterErrorReports: 1,
    });
    expect(w.issues.map((i) => [i.id, i.tenantId])).toEqual([
      ['meter-error:evt_r', 'acme'],
      ['meter-error:evt_r', 'globex'],
    ]);
    expect(w.published.find((e) => e.tenantId === 'acme')!.data).toEqual({
      source: 'stripe_error_report',
      errors: [
        { code: 'customer_not_found', message: 'no customer' },
        { code: 'meter_not_found', message: 'no meter' },
      ],
    });
  });

  it("raise one operator issue for a report that names no tenant (Meterline's own test events)", async () => {
    const report: MeterErrorReport = {
      meterId: null,
      summary: '1 invalid',
      errors: [{ code: 'x', count: 1, samples: [{ message: 'm', identifier: 'mtl:probe' }] }],
    };
    const w = world({ report });
    await actOnNotification(w.deps, {
      kind: 'meter_error_report',
      eventId: 'evt_p',
      type: 'v1.billing.meter.error_report_triggered',
      created: 1,
    });
    expect(w.issues).toEqual([expect.objectContaining({ id: 'meter-error:evt_p', kind: 'METER_ERROR_REPORT' })]);
    expect(w.issues[0]!.tenantId).toBeUndefined();
    expect(w.published).toEqual([]);
  });
});
