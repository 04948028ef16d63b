import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../local/stack.js';
import { api, createTenant, startTestStack } from './support/stack.js';

describe('local stack', () => {
  let stack: LocalStack;
  let key: string;
  beforeAll(async () => {
    stack = await startTestStack();
    key = await createTenant(stack, 'acme');
  });
  afterAll(() => stack.stop());

  it('counts an event posted through the API', async () => {
    const post = await api(stack, 'POST', '/v1/events', key, { id: 'o-1', meter: 'orders', timestamp: new Date().toISOString() });
    expect(post.status).toBe(202);
    await stack.drained();
    const usage = await api(stack, 'GET', '/v1/usage/current', key);
    expect(usage.body.meters.find((m: { meter: string }) => m.meter === 'orders')).toMatchObject({ value: '1', events: 1 });
  });
});
