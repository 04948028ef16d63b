import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { suppressionsOf } from '../../shared/alerts/adapters/ses-events.js';
import {
  addressesFor,
  audienceOf,
  emailIdOf,
  eventMessage,
  type Recipient,
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
