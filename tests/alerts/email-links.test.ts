import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createEmailLinks } from '../../functions/email-links/email-links.js';
import { httpEvent } from '../../local/http-event.js';
import { lambdaContext } from '../../local/lambda.js';
import { LINK_LIFETIME_SECONDS, type LinkClaims, type Recipient, signLink } from '../../shared/alerts/email.js';

const key = Buffer.from('link-key-for-tests');
const t0 = Date.parse('2026-12-01T00:00:00Z');
const address = 'pay@acme.example';

/** The email links over one recipient kept in memory, at a clock the test moves. */
function world(recipient: Partial<Recipient> = {}) {
  const recipients = new Map<string, Recipient>([
    [
      address,
      { tenantId: 'acme', address, role: 'billing', categories: ['billing', 'usage'], createdAt: new Date(t0).toISOString(), ...recipient },
    ],
  ]);
  const puts: Recipient[] = [];
  let now = t0;
  const links = createEmailLinks({
    store: {
      getRecipient: async (tenantId, a) => (tenantId === 'acme' ? recipients.get(a) : undefined),
      putRecipient: async (r) => {
        puts.push(r);
        recipients.set(r.address, r);
      },
    },
    linkKey: async () => key,
    now: () => now,
  });
  const call = async (routeKey: string, query: Record<string, string>, form?: string) => {
    const event = httpEvent({ routeKey, query });
    if (form !== undefined) Object.assign(event, { body: form, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    const res = await links(event, lambdaContext('email-links'));
    return { status: res.statusCode, body: res.body as string };
  };
  const token = (purpose: LinkClaims['purpose'], a = address, tenantId = 'acme') => signLink(key, { purpose, tenantId, address: a }, now);
  return { call, token, puts, recipient: () => recipients.get(address)!, advance: (ms: number) => (now += ms) };
}

const refusal = { status: 400, body: expect.stringContaining('This link does not work') };

describe('email links: confirming an address', () => {
  it('confirms the address once; following the link again changes nothing', async () => {
    const w = world();
    const token = w.token('verify');
    expect(await w.call('GET /verify', { token })).toEqual({
      status: 200,
      body: expect.stringContaining(`${address} now receives Meterline mail`),
    });
    expect(w.recipient().verifiedAt).toBe(new Date(t0).toISOString());
    w.advance(60_000);
    expect(await w.call('GET /verify', { token })).toMatchObject({ status: 200 });
    expect(w.puts).toHaveLength(1);
    expect(w.recipient().verifiedAt).toBe(new Date(t0).toISOString());
  });

  it('refuses a link that is forged, tampered with, expired, for another purpose or for an address no longer listed', async () => {
    const w = world();
    const good = w.token('verify');
    const [body, mac] = good.split('.') as [string, string];
    const forgedMac = createHmac('sha256', Buffer.from('another key')).update(body).digest('base64url');
    // A body the key signed that is not JSON, and one that is JSON but not the claims a link carries.
    const signed = (text: string) => {
      const b = Buffer.from(text).toString('base64url');
      return `${b}.${createHmac('sha256', key).update(b).digest('base64url')}`;
    };
    for (const token of [
      '',
      'no-dot',
      `${body}.${mac}.extra`,
      `${body}.${forgedMac}`,
      `${body}.${mac.slice(0, -4)}`,
      signed('{not json'),
      signed(JSON.stringify({ p: 'verify', t: 'acme' })),
      w.token('preferences'),
      w.token('verify', 'gone@acme.example'),
      w.token('verify', address, 'globex'),
    ]) {
      expect(await w.call('GET /verify', { token }), token).toEqual(refusal);
    }
    expect(await w.call('GET /verify', {})).toEqual(refusal);
    w.advance(LINK_LIFETIME_SECONDS.verify * 1000);
    expect(await w.call('GET /verify', { token: good })).toEqual(refusal);
    expect(w.puts).toEqual([]);
  });
});

describe('email links: preferences and one-click unsubscribe', () => {
  it('shows the categories the address receives, ticked', async () => {
    const w = world({ categories: ['usage'] });
    const res = await w.call('GET /preferences', { token: w.token('preferences') });
    expect(res.status).toBe(200);
    expect(res.body).toContain(`Mail for ${address}`);
    expect(res.body).toContain('value="usage" checked');
    expect(res.body).toContain('value="billing">');
    expect(res.body).not.toContain('Saved.');
  });

  it('saves the ticked categories, ignoring any a tenant cannot choose, and clearing all leaves none', async () => {
    const w = world();
    const token = w.token('preferences');
    const saved = await w.call('POST /preferences', { token }, 'category=usage&category=operations&category=bogus');
    expect(saved.status).toBe(200);
    expect(saved.body).toContain('Saved.');
    expect(w.recipient().categories).toEqual(['usage']);
    // The token may come in the form rather than the query, as the page's own form posts it.
    expect(await w.call('POST /preferences', {}, `token=${encodeURIComponent(token)}`)).toMatchObject({ status: 200 });
    expect(w.recipient().categories).toEqual([]);
  });

  it('asks before unsubscribing on a GET, since link scanners follow GETs, and unsubscribes on the POST', async () => {
    const w = world();
    const token = w.token('preferences');
    const asked = await w.call('GET /unsubscribe', { token, category: 'usage' });
    expect(asked.status).toBe(200);
    expect(asked.body).toContain('Unsubscribe from usage mail?');
    expect(w.puts).toEqual([]);
    const done = await w.call('POST /unsubscribe', { token, category: 'usage' }, 'List-Unsubscribe=One-Click');
    expect(done).toEqual({ status: 200, body: expect.stringContaining(`${address} no longer receives usage mail`) });
    expect(w.recipient().categories).toEqual(['billing']);
  });

  it('refuses an unsubscribe from a category a tenant cannot choose, and a verification link used for preferences', async () => {
    const w = world();
    const token = w.token('preferences');
    expect(await w.call('POST /unsubscribe', { token, category: 'operations' }, '')).toEqual(refusal);
    expect(await w.call('POST /unsubscribe', { token }, '')).toEqual(refusal);
    expect(await w.call('GET /preferences', { token: w.token('verify') })).toEqual(refusal);
    expect(await w.call('POST /unsubscribe', { token: w.token('verify'), category: 'usage' }, '')).toEqual(refusal);
    expect(w.puts).toEqual([]);
  });

  it('answers 404 for any other page or method', async () => {
    const w = world();
    for (const routeKey of ['GET /', 'GET /verify/extra', 'POST /verify']) {
      expect(await w.call(routeKey, { token: w.token('verify') })).toMatchObject({ status: 404 });
    }
    expect(w.puts).toEqual([]);
  });
});
