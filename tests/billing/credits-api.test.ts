import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { calendarMonth } from '../../shared/kernel/periods.js';
import { issueApiKey } from '../../shared/tenancy/api-keys.js';
import { api, createAdminKey, createTenant, directoryOf, startTestStack } from '../support/stack.js';

describe('credits API', () => {
  let stack: LocalStack;
  let admin: string;
  let tenant: string;
  const path = '/v1/admin/tenants/prepaid-co/credits';

  beforeAll(async () => {
    stack = await startTestStack();
    admin = await createAdminKey(stack);
    tenant = await createTenant(stack, 'prepaid-co');
    const startAt = new Date(calendarMonth(Date.now()).start).toISOString();
    expect(await api(stack, 'PUT', '/v1/admin/tenants/prepaid-co/subscription', admin, { planId: 'base-199', startAt })).toMatchObject({
      status: 201,
    });
  });
  afterAll(() => stack?.stop());

  it('admins grant, list and void; the tenant reads each grant with what is left of it now', async () => {
    const purchased = await api(stack, 'POST', path, admin, { amount: '500', source: 'purchased' });
    expect(purchased).toMatchObject({
      status: 201,
      body: { currency: 'USD', amount: '500', priority: 50, remaining: '500', status: 'active' },
    });
    const calls = await api(stack, 'POST', path, admin, { amount: '10000', meter: 'api_calls', source: 'promotional', priority: 10 });
    expect(calls).toMatchObject({ status: 201, body: { meter: 'api_calls', remaining: '10000' } });

    expect(await api(stack, 'POST', path, admin, { amount: '-5', source: 'manual' })).toMatchObject({
      status: 400,
      body: { field: 'amount' },
    });
    expect(await api(stack, 'POST', path, admin, { amount: '5', source: 'gift' })).toMatchObject({
      status: 400,
      body: { field: 'source' },
    });
    expect(await api(stack, 'POST', path, admin, { amount: '5', meter: 'nope', source: 'manual' })).toMatchObject({ status: 404 });
    expect(await api(stack, 'POST', path, tenant, { amount: '5', source: 'manual' })).toMatchObject({ status: 403 });

    // The $199 base fee was due from the period's start, before the grant took effect (now): the grant does not pay it.
    const live = await api(stack, 'GET', '/v1/credits', tenant);
    expect(live).toMatchObject({
      status: 200,
      body: { currency: 'USD', balance: '500.00', projectedBalance: '500.00', units: { api_calls: '10000' } },
    });

    expect(await api(stack, 'POST', `${path}/${calls.body.id}/void`, admin)).toMatchObject({
      status: 200,
      body: { remaining: '0', status: 'void' },
    });
    expect(await api(stack, 'POST', `${path}/${calls.body.id}/void`, admin)).toMatchObject({ status: 409 });
    const listed = await api(stack, 'GET', path, admin);
    expect(listed.body.entries.map((e: { kind: string; amount: string }) => `${e.kind} ${e.amount}`).sort()).toEqual([
      'grant 10000',
      'grant 500',
      'void -10000',
    ]);

    const read = (await issueApiKey(directoryOf(stack), { tenantId: 'prepaid-co' }, 'read', Date.now(), { scope: 'read' })).token;
    expect(await api(stack, 'GET', '/v1/credits', read)).toMatchObject({ status: 200, body: { units: {} } });
  });
});
