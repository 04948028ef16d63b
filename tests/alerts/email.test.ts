import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { suppressionsOf } from '../../shared/alerts/adapters/ses-events.js';
import {
  addressesFor,
  audienceOf,
  emailIdOf,
  eventMessage,
  type Recipient,
  reasonFor,
  render,
  signLink,
  verifyLink,
} from '../../shared/alerts/email.js';
import { domainEvent } from '../../shared/events/domain-events.js';

const ctx = { tenantName: 'Optical Labs', dashboardUrl: 'https://dash.example' };
const period = { start: '2026-12-01T00:00:00.000Z', end: '2027-01-01T00:00:00.000Z' };
const recipient = (address: string, role: Recipient['role'], categories: Recipient['categories'], verified = true): Recipient => ({
  tenantId: 'acme',
  address,
  role,
  categories,
  createdAt: period.start,
  ...(verified ? { verifiedAt: period.start } : {}),
});

describe('email routing', () => {
  it('sends billing news to billing recipients, usage news to technical ones, operations to operators only', () => {
    const people = [
      recipient('pay@acme.example', 'billing', ['billing']),
      recipient('ops@acme.example', 'technical', ['usage']),
      recipient('new@acme.example', 'technical', ['usage'], false),
    ];
    const ops = ['oncall@meterline.example'];
    const to = (type: string) => addressesFor(audienceOf(type)!, people, ops);
    expect(to('invoice.issued')).toEqual(['pay@acme.example']);
    expect(to('invoice.payment_failed')).toEqual(['pay@acme.example']);
    expect(to('spend.threshold_crossed')).toEqual(['pay@acme.example']);
    expect(to('usage.threshold_crossed')).toEqual(['ops@acme.example']);
    expect(to('quota.exceeded')).toEqual(['ops@acme.example']);
    // Kinds this module does not know are usage news; a silent tenant reaches the operators too.
    expect(to('usage.anomaly_detected')).toEqual(['ops@acme.example']);
    expect(to('usage.silent')).toEqual(['ops@acme.example', 'oncall@meterline.example']);
    expect(to('stripe.report_failed')).toEqual(['oncall@meterline.example']);
    expect(to('reconciliation.mismatch')).toEqual(['oncall@meterline.example']);
    expect(audienceOf('event.quarantined')).toBeUndefined();
  });

  it('derives one idempotency key per event and address', () => {
    expect(emailIdOf('quota.exceeded:acme:quota:orders:2026-12-01', 'a@x.example')).toBe(
      emailIdOf('quota.exceeded:acme:quota:orders:2026-12-01', 'a@x.example'),
    );
    expect(emailIdOf('e1', 'a@x.example')).not.toBe(emailIdOf('e1', 'b@x.example'));
  });
});

describe('messages', () => {
  it('renders a kind it does not know readably, with every datum', () => {
    const event = {
      ...domainEvent('quota.exceeded', 'acme', 'k', { meter: 'orders', limit: '10', value: '12', period }, period.start),
      type: 'usage.anomaly_detected',
      data: { meter: 'orders', observedValue: '950', expected: { low: '80', high: '120' } },
    } as never;
    const r = render(eventMessage(event, ctx), { reason: 'why', preferencesUrl: 'https://links.example/p' });
    expect(r.subject).toBe('Optical Labs: usage anomaly detected');
    expect(r.text).toContain('Observed value:');
    expect(r.text).toContain('Expected / High:');
    expect(r.html).toContain('Expected / Low');
    expect(r.text).toContain('https://links.example/p');
  });

  it('escapes what it puts into HTML and loads nothing remote', () => {
    const event = domainEvent(
      'usage.threshold_crossed',
      'acme',
      'k',
      { alertId: 'a', name: '<script>x</script>', kind: 'quantity', meter: 'orders', threshold: '10', value: '12', period },
      period.start,
    );
    const { html } = render(eventMessage(event, ctx), { reason: 'r' });
    expect(html).not.toContain('<script>');
    expect(html).not.toMatch(/<img|src=/);
  });
});

describe('what each kind of mail says', () => {
  const say = (type: string, data: Record<string, unknown>) =>
    eventMessage(domainEvent(type as never, 'acme', 'k', data as never, period.start), ctx);
  const threshold = { alertId: 'a', meter: 'orders', threshold: '800', value: '812', period };

  it('names what a usage threshold was a percentage of, or the absolute threshold, and the rule by its name', () => {
    const ofQuota = say('usage.threshold_crossed', { ...threshold, kind: 'percent', of: 'quota', percent: '80', name: 'Early' });
    expect(ofQuota.subject).toBe('Optical Labs: orders reached 80% of its quota');
    expect(ofQuota.headline).toBe('Usage of orders reached 812, crossing 80% (800) (rule "Early").');
    expect(ofQuota.facts).toContainEqual(['Billing period', '2026-12-01 to 2026-12-31']);
    const ofIncluded = say('usage.threshold_crossed', { ...threshold, kind: 'percent', of: 'included', percent: '80' });
    expect(ofIncluded.subject).toBe('Optical Labs: orders reached 80% of its included quantity');
    expect(ofIncluded.headline).toBe('Usage of orders reached 812, crossing 80% (800).');
    const absolute = say('usage.threshold_crossed', { ...threshold, kind: 'quantity' });
    expect(absolute.subject).toBe('Optical Labs: orders reached 800');
    expect(absolute.headline).toBe('Usage of orders reached 812, crossing 800.');
  });

  it('tells spend so far apart from projected spend', () => {
    const spend = { alertId: 'a', threshold: '100.00', value: '120.50', currency: 'USD', period };
    const current = say('spend.threshold_crossed', { ...spend, basis: 'current' });
    expect(current.subject).toBe('Optical Labs: spend reached USD 100.00');
    expect(current.headline).toBe("This period's cost so far is USD 120.50, above USD 100.00.");
    expect(current.facts[0]).toEqual(['Cost so far', 'USD 120.50']);
    const projected = say('spend.threshold_crossed', { ...spend, basis: 'projected' });
    expect(projected.subject).toBe('Optical Labs: projected spend reached USD 100.00');
    expect(projected.headline).toBe("This period's projected cost is USD 120.50, above USD 100.00.");
    expect(projected.facts[0]).toEqual(['Projected cost', 'USD 120.50']);
  });

  it('links a failed payment to the hosted invoice when Stripe gave one, and names the invoice when it has a number', () => {
    const numbered = say('invoice.payment_failed', {
      stripeInvoiceId: 'in_1',
      number: 'ML-0042',
      currency: 'USD',
      total: '42.00',
      hostedInvoiceUrl: 'https://pay.example/in_1',
    });
    expect(numbered.subject).toBe('Optical Labs: payment of invoice ML-0042 failed');
    expect(numbered.headline).toBe('A payment of USD 42.00 for invoice ML-0042 failed.');
    expect(numbered.facts).toEqual([
      ['Invoice', 'ML-0042'],
      ['Amount due', 'USD 42.00'],
    ]);
    expect(numbered.action).toEqual({ label: 'Pay the invoice', url: 'https://pay.example/in_1' });
    const bare = say('invoice.payment_failed', { stripeInvoiceId: 'in_2', currency: 'USD', total: '42.00' });
    expect(bare.subject).toBe('Optical Labs: payment of an invoice failed');
    expect(bare.headline).toBe('A payment of USD 42.00 failed.');
    expect(bare.facts).toEqual([['Amount due', 'USD 42.00']]);
    expect(bare.action).toEqual({ label: 'See invoices in the dashboard', url: 'https://dash.example/#/invoices' });
  });

  it("lists at most 20 of Stripe's refusals to operators and counts the rest", () => {
    const errors = Array.from({ length: 23 }, (_, i) => ({
      meter: 'orders',
      day: `2026-12-${String(i + 1).padStart(2, '0')}`,
      code: 'E',
      message: 'm',
    }));
    const report = say('stripe.report_failed', { source: 'usage_report', errors });
    expect(report.headline).toBe('The daily Stripe report failed for 23 meter day(s) of Optical Labs; the next run retries them.');
    expect(report.facts).toHaveLength(20);
    expect(report.facts[0]).toEqual(['orders on 2026-12-01', 'E: m']);
    expect(report.notes).toEqual(['And 3 more.']);
    const refused = say('stripe.report_failed', {
      source: 'stripe_error_report',
      errors: [
        { meter: 'orders', code: 'invalid_value', message: 'negative' },
        { code: 'meter_not_found', message: 'no such meter' },
      ],
    });
    expect(refused.headline).toBe('Stripe refused meter events of Optical Labs that it had taken.');
    expect(refused.facts).toEqual([
      ['orders', 'invalid_value: negative'],
      ['Error', 'meter_not_found: no such meter'],
    ]);
    expect(refused.notes).toEqual([]);
  });

  it('shows each reconciliation mismatch with both sides, a missing side as none', () => {
    const m = say('reconciliation.mismatch', {
      stripeInvoiceId: 'in_9',
      period,
      mismatches: [
        { kind: 'QUANTITY', meter: 'orders', stripe: '10', meterline: '12' },
        { kind: 'INVOICE_ITEM', line: 'commitment', meterline: '5.00' },
        { kind: 'INVOICE_ITEM', line: 'credit:g1', stripe: '-2.00' },
      ],
    });
    expect(m.headline).toBe("Stripe invoice in_9 bills usage for 2026-12-01 to 2026-12-31 that differs from Meterline's invoice.");
    expect(m.facts).toEqual([
      ['QUANTITY (orders)', 'Stripe 10, Meterline 12'],
      ['INVOICE_ITEM', 'Stripe none, Meterline 5.00'],
      ['INVOICE_ITEM', 'Stripe -2.00, Meterline none'],
    ]);
  });

  it('renders a message without facts, action or preferences link, and tells an operator why it came', () => {
    const r = render({ subject: 's', headline: 'h', facts: [], notes: [] }, { reason: reasonFor('operations', 'Optical Labs') });
    expect(r.text).toBe('h\n\n-- \nYou receive this as a Meterline operator.');
    expect(r.html).not.toContain('<dl');
    expect(r.html).not.toContain('<a ');
    expect(reasonFor('billing', 'Optical Labs')).toBe('You receive billing mail for Optical Labs from Meterline.');
  });
});

describe('signed links', () => {
  const key = Buffer.alloc(32, 7);
  it('verifies its own links for their purpose until they expire', () => {
    fc.assert(
      fc.property(fc.emailAddress(), fc.stringMatching(/^[a-z0-9-]{1,20}$/), (address, tenantId) => {
        const token = signLink(key, { purpose: 'verify', tenantId, address }, 0);
        expect(verifyLink(key, token, 'verify', 1000)).toEqual({ purpose: 'verify', tenantId, address });
        expect(verifyLink(key, token, 'preferences', 1000)).toBeUndefined();
        expect(verifyLink(key, token, 'verify', 8 * 86_400_000)).toBeUndefined();
        expect(verifyLink(Buffer.alloc(32, 8), token, 'verify', 1000)).toBeUndefined();
      }),
    );
  });
  it('refuses a link whose claims were changed', () => {
    const token = signLink(key, { purpose: 'preferences', tenantId: 'acme', address: 'a@x.example' }, 0);
    const [, mac] = token.split('.');
    const forged = `${Buffer.from(JSON.stringify({ p: 'preferences', t: 'other', a: 'a@x.example', e: 9e9 })).toString('base64url')}.${mac}`;
    expect(verifyLink(key, forged, 'preferences', 0)).toBeUndefined();
  });
});

describe("SES's events", () => {
  it('suppresses hard bounces and complaints, not soft bounces', () => {
    const bounce = (bounceType: string) => ({
      eventType: 'Bounce',
      bounce: { bounceType, bounceSubType: 'General', bouncedRecipients: [{ emailAddress: 'Dead@X.example' }] },
      mail: { messageId: 'm' },
    });
    expect(suppressionsOf(bounce('Permanent'))).toEqual([{ address: 'dead@x.example', reason: 'bounced (General)' }]);
    expect(suppressionsOf(bounce('Transient'))).toEqual([]);
    expect(suppressionsOf({ eventType: 'Complaint', complaint: { complainedRecipients: [{ emailAddress: 'a@x.example' }] } })).toEqual([
      { address: 'a@x.example', reason: 'complained' },
    ]);
    expect(suppressionsOf({ eventType: 'Delivery', delivery: {} })).toEqual([]);
  });
});
