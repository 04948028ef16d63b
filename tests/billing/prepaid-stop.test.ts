import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { meterline } from '../../clients/node/src/express.js';
import { Meterline } from '../../clients/node/src/index.js';
import type { LocalStack } from '../../local/stack.js';
import { Dec } from '../../shared/kernel/decimal.js';
import { issueApiKey } from '../../shared/tenancy/api-keys.js';
import { api, createAdminKey, createTenant, directoryOf, startTestStack } from '../support/stack.js';

/** AI jobs at $0.50 each and no base fee: a tenant's credits pay for its usage alone. */
const plan = {
  name: 'Prepaid AI',
  currency: 'USD',
  interval: 'month',
  baseFee: '0',
  prices: { ai_jobs: { model: 'perUnit', unitPrice: '0.50' } },
};
const CACHE_TTL_MS = 1_000;

describe('stopping a prepaid tenant at its balance, through the Express middleware', () => {
  let stack: LocalStack;
  let admin: string;
  const keys: Record<string, string> = {};

  beforeAll(async () => {
    stack = await startTestStack();
    admin = await createAdminKey(stack);
    expect(await api(stack, 'PUT', '/v1/admin/plans/prepaid-ai', admin, plan)).toMatchObject({ status: 200 });
    const startAt = new Date().toISOString();
    for (const [tenant, amount] of [
      ['prepaid-small', '5.00'],
      ['prepaid-large', '500.00'],
    ] as const) {
      keys[tenant] = await createTenant(stack, tenant);
      const sub = await api(stack, 'PUT', `/v1/admin/tenants/${tenant}/subscription`, admin, {
        planId: 'prepaid-ai',
        startAt,
        prepaid: { overdraft: '0' },
      });
      expect(sub).toMatchObject({ status: 201, body: { prepaid: { overdraft: '0' } } });
      // From the period's start, so the grant pays for all of the period's usage.
      const grant = await api(stack, 'POST', `/v1/admin/tenants/${tenant}/credits`, admin, {
        amount,
        source: 'purchased',
        effectiveAt: sub.body.startedAt,
      });
      expect(grant).toMatchObject({ status: 201 });
    }
  });
  afterAll(() => stack?.stop());

  it('answers 402 BALANCE_EXHAUSTED within one cache interval of the balance running out, while another tenant carries on', async () => {
    const service = (await issueApiKey(directoryOf(stack), { service: true }, 'product', Date.now())).token;
    const client = new Meterline({ apiKey: service, baseUrl: stack.apiUrl, flushIntervalMs: 20 });
    const metering = meterline({ client, meter: 'ai_jobs', tenant: (req) => req.get('x-tenant'), quota: { cacheTtlMs: CACHE_TTL_MS } });
    const app = express();
    app.use(metering);
    app.post('/jobs', (_req, res) => void res.json({ ok: true }));
    const server = app.listen(0);
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const call = (tenant: string) => fetch(`${base}/jobs`, { method: 'POST', headers: { 'x-tenant': tenant } });
    try {
      // $5.00 pays for 10 jobs at $0.50.
      for (let i = 0; i < 10; i++) expect((await call('prepaid-small')).status).toBe(200);
      await client.flush();
      await stack.drained();
      const credits = await api(stack, 'GET', '/v1/credits', keys['prepaid-small']);
      expect(credits.body).toMatchObject({
        balance: '0.00',
        prepaid: { balance: '0.00', overdraft: '0.00', owed: '0.00', available: '0.00', exhausted: true },
      });
      const ranOut = Date.now();

      // Until the cached answer expires the middleware may still let requests through; then it refuses.
      let refused: Response | undefined;
      let through = 0;
      while (!refused) {
        const res = await call('prepaid-small');
        if (res.status === 402) refused = res;
        else {
          expect(res.status).toBe(200);
          through += 1;
          expect((await call('prepaid-large')).status).toBe(200);
          await new Promise((r) => setTimeout(r, 50));
        }
        expect(Date.now() - ranOut).toBeLessThanOrEqual(CACHE_TTL_MS + 500);
      }
      // What went through inside the cache interval was counted too, so the tenant may owe up to that much: $0.50 a job.
      const available = new Dec(refused.headers.get('x-credit-available')!);
      expect(available.lte(0) && available.gte(new Dec('-0.50').times(through))).toBe(true);
      expect(refused.headers.get('x-credit-currency')).toBe('USD');
      expect(refused.headers.get('retry-after')).toBeNull();
      expect(await refused.json()).toMatchObject({ code: 'BALANCE_EXHAUSTED', balance: '0.00', available: available.toFixed(2) });
      expect((await call('prepaid-small')).status).toBe(402);

      // The other tenant carries on.
      for (let i = 0; i < 5; i++) expect((await call('prepaid-large')).status).toBe(200);
      await client.flush();
      await stack.drained();

      // Every request that ran is recorded (a refused one never ran), and the overrun shows as owed.
      const usage = await api(stack, 'GET', '/v1/usage/current', keys['prepaid-small']);
      expect(usage.body.meters.find((m: { meter: string }) => m.meter === 'ai_jobs').events).toBe(10 + through);
      expect(metering.metering.stats()).toMatchObject({ balanceRefused: 2 });
      const quota = await api(stack, 'GET', '/v1/quotas/ai_jobs', keys['prepaid-small']);
      expect(quota.body).toMatchObject({
        limit: 'unlimited',
        allowed: false,
        reason: 'BALANCE_EXHAUSTED',
        prepaid: { owed: (through * 0.5).toFixed(2), exhausted: true },
      });

      // A top-up lets it through again at the next check.
      expect(
        await api(stack, 'POST', '/v1/admin/tenants/prepaid-small/credits', admin, { amount: '10.00', source: 'purchased' }),
      ).toMatchObject({ status: 201 });
      await new Promise((r) => setTimeout(r, CACHE_TTL_MS + 50));
      expect((await call('prepaid-small')).status).toBe(200);
    } finally {
      await client.shutdown();
      server.close();
    }
  });
});
