import { describe, expect, it } from 'vitest';
import { DynamoAlertStore } from '../../shared/alerts/adapters/alert-store.js';
import { DynamoEmailStore } from '../../shared/alerts/adapters/email-store.js';
import { DynamoWebhookStore } from '../../shared/alerts/adapters/webhook-store.js';
import type { Email } from '../../shared/alerts/email.js';
import type { Watch } from '../../shared/alerts/episodes.js';
import type { Alert, AlertFiring } from '../../shared/alerts/rules.js';
import type { Delivery } from '../../shared/alerts/webhooks.js';
import { conditionFailed, fakeDocuments, throttled } from '../support/fake-documents.js';

/**
 * The alert, webhook and email stores against DynamoDB's answers: a conditional write that lost answered as such
 * (a firing recorded once, a watch written by a concurrent run, a delivery or email that exists), throttling
 * surfaced rather than taken for a lost condition, absent items absent, pages followed.
 */
const isThrottling = expect.objectContaining({ name: 'ProvisionedThroughputExceededException' });
const firing = { alertId: 'a1', period: '2026-03-01T00:00:00.000Z' } as AlertFiring;
const watch = (version: number, more: Partial<Watch> = {}): Watch => ({
  alertId: 'a1',
  meter: 'tokens',
  window: 'hour' as Watch['window'],
  version,
  ...more,
});

describe('alert store', () => {
  it('a rule whose id exists is not overwritten (a tenant edit of a default rule wins); throttling is surfaced', async () => {
    const db = fakeDocuments({ put: (_, n) => Promise.reject(n === 0 ? conditionFailed() : throttled()) });
    const store = new DynamoAlertStore(db, 'tenants');
    const alert = { tenantId: 't1', id: 'a1' } as Alert;
    expect(await store.createAlert(alert)).toBe(false);
    await expect(store.createAlert(alert)).rejects.toThrow(isThrottling);
  });

  it('a firing is recorded once per alert and period; throttling is surfaced, not taken for "already fired"', async () => {
    const db = fakeDocuments({ put: (_, n) => (n === 0 ? {} : Promise.reject(n === 1 ? conditionFailed() : throttled())) });
    const store = new DynamoAlertStore(db, 'tenants');
    expect(await store.recordFiring('t1', firing)).toBe(true);
    expect(db.inputs('put')[0].Item.sk).toBe('FIRED#2026-03-01T00:00:00.000Z#a1');
    expect(await store.recordFiring('t1', firing)).toBe(false);
    await expect(store.recordFiring('t1', firing)).rejects.toThrow(isThrottling);
  });

  it('a watch a concurrent run wrote first wins: the write answers false and its episode is not copied', async () => {
    const db = fakeDocuments({ put: () => Promise.reject(conditionFailed()) });
    const store = new DynamoAlertStore(db, 'tenants');
    const episode = { start: '2026-03-10T05:00:00.000Z', points: [] } as unknown as Watch['episode'];
    expect(await store.saveWatch('t1', watch(3, { episode }))).toBe(false);
    expect(db.inputs('put')).toHaveLength(1);
    expect(db.inputs('put')[0]).toMatchObject({
      ConditionExpression: 'version = :previous',
      ExpressionAttributeValues: { ':previous': 2 },
    });
  });

  it("a new watch must not exist yet; one with an episode writes the episode's copy into the history", async () => {
    const db = fakeDocuments({ put: () => ({}) });
    const episode = { start: '2026-03-10T05:00:00.000Z', points: [] } as unknown as Watch['episode'];
    expect(await new DynamoAlertStore(db, 'tenants').saveWatch('t1', watch(1, { episode }))).toBe(true);
    const [written, copy] = db.inputs('put');
    expect(written.ConditionExpression).toBe('attribute_not_exists(pk)');
    expect(copy.Item).toMatchObject({ sk: 'EPISODE#2026-03-10T05:00:00.000Z#a1#tokens#hour', start: episode!.start, alertId: 'a1' });
  });

  it('a watch write throttled is surfaced', async () => {
    const db = fakeDocuments({ put: () => Promise.reject(throttled()) });
    await expect(new DynamoAlertStore(db, 'tenants').saveWatch('t1', watch(1))).rejects.toThrow(isThrottling);
  });

  it('deleting a rule the tenant does not have answers false, and still clears watches left under its id', async () => {
    const db = fakeDocuments({
      delete: () => ({}),
      query: () => ({ Items: [{ pk: 'TENANT#t1', sk: 'WATCH#a1#tokens#hour' }] }),
    });
    expect(await new DynamoAlertStore(db, 'tenants').deleteAlert('t1', 'a1')).toBe(false);
    expect(db.inputs('delete').map((d) => d.Key.sk)).toEqual(['ALERT#a1', 'WATCH#a1#tokens#hour']);
  });

  it('reads firings of one period or of all, rules stored without a kind as quantity rules, and no episodes as none', async () => {
    const db = fakeDocuments({
      query: (input) => {
        const prefix = input.ExpressionAttributeValues![':prefix'];
        if (prefix === 'ALERT#') return { Items: [{ pk: 'TENANT#t1', sk: 'ALERT#a1', id: 'a1' }] };
        if (String(prefix).startsWith('FIRED#')) return { Items: [{ pk: 'TENANT#t1', sk: `${prefix}a1`, alertId: 'a1' }] };
        return {};
      },
    });
    const store = new DynamoAlertStore(db, 'tenants');
    expect(await store.listAlerts('t1')).toEqual([{ kind: 'quantity', id: 'a1' }]);
    expect(await store.firings('t1')).toEqual([{ alertId: 'a1' }]);
    await store.firings('t1', '2026-03-01T00:00:00.000Z');
    expect(db.inputs('query').map((q) => q.ExpressionAttributeValues[':prefix'])).toEqual([
      'ALERT#',
      'FIRED#',
      'FIRED#2026-03-01T00:00:00.000Z#',
    ]);
    expect(await store.episodes('t1', 10)).toEqual([]);
  });
});

describe('webhook store', () => {
  const delivery = {
    tenantId: 't1',
    id: 'd1',
    endpointId: 'ep1',
    createdAt: '2026-03-10T05:00:00.000Z',
    status: 'pending',
    attempts: [],
  } as unknown as Delivery;

  it('a delivery that exists already (the same event for the same endpoint) is answered as stored, not written twice', async () => {
    const stored = { ...delivery, status: 'delivered' };
    const db = fakeDocuments({
      put: () => Promise.reject(conditionFailed()),
      get: () => ({ Item: { pk: 'TENANT#t1', sk: 'DELIVERY#d1', expiresAt: 1, ...stored } }),
    });
    expect(await new DynamoWebhookStore(db, 'webhooks').createDelivery(delivery)).toEqual(stored);
  });

  it('a delivery write throttled is surfaced', async () => {
    const db = fakeDocuments({ put: () => Promise.reject(throttled()) });
    await expect(new DynamoWebhookStore(db, 'webhooks').createDelivery(delivery)).rejects.toThrow(isThrottling);
  });

  it('replaying a delivery that does not exist answers absent; throttling is surfaced', async () => {
    const db = fakeDocuments({ update: (_, n) => Promise.reject(n === 0 ? conditionFailed() : throttled()) });
    const store = new DynamoWebhookStore(db, 'webhooks');
    expect(await store.reopenDelivery('t1', 'd1')).toBeUndefined();
    await expect(store.reopenDelivery('t1', 'd1')).rejects.toThrow(isThrottling);
  });

  it("pages an endpoint's deliveries with a cursor that brings back DynamoDB's start key; the last page has none", async () => {
    const position = { pk: 'TENANT#t1', sk: 'DELIVERY#d1', gsi1pk: 'ENDPOINT#t1#ep1', gsi1sk: '2026-03-10T05:00:00.000Z#d1' };
    const db = fakeDocuments({ query: (_, n) => (n === 0 ? { Items: [{ ...position, ...delivery }], LastEvaluatedKey: position } : {}) });
    const store = new DynamoWebhookStore(db, 'webhooks');
    const first = await store.listDeliveries('t1', 'ep1', 1);
    expect(first.deliveries).toEqual([delivery]);
    const last = await store.listDeliveries('t1', 'ep1', 1, first.cursor);
    expect(last).toEqual({ deliveries: [] });
    expect(db.inputs('query')[1]).toMatchObject({ ExclusiveStartKey: position, ScanIndexForward: false });
    // Another endpoint's listing does not take this cursor.
    await expect(store.listDeliveries('t1', 'ep2', 1, first.cursor)).rejects.toMatchObject({ code: 'INVALID_REQUEST', field: 'cursor' });
  });

  it('an attempt that delivered records when; one to be retried keeps its next attempt time', async () => {
    const db = fakeDocuments({ update: () => ({}) });
    const store = new DynamoWebhookStore(db, 'webhooks');
    const at = '2026-03-10T05:01:00.000Z';
    await store.recordAttempt('t1', 'd1', { at } as never, { status: 'delivered' });
    await store.recordAttempt('t1', 'd1', { at } as never, { status: 'pending', nextAttemptAt: '2026-03-10T05:05:00.000Z' });
    const [delivered, retried] = db.inputs('update');
    expect(delivered.UpdateExpression).toBe(
      'SET attempts = list_append(attempts, :a), #status = :s, deliveredAt = :d REMOVE nextAttemptAt',
    );
    expect(retried.UpdateExpression).toBe('SET attempts = list_append(attempts, :a), #status = :s, nextAttemptAt = :n');
  });

  it('an endpoint that does not exist is absent, and deleting it answers false', async () => {
    const store = new DynamoWebhookStore(fakeDocuments({ get: () => ({}), delete: () => ({}) }), 'webhooks');
    expect(await store.getEndpoint('t1', 'ep1')).toBeUndefined();
    expect(await store.deleteEndpoint('t1', 'ep1')).toBe(false);
  });
});

describe('email store', () => {
  const email = { tenantId: 't1', id: 'm1', createdAt: '2026-03-10T05:00:00.000Z', status: 'pending' } as unknown as Email;

  it('an email whose idempotency key exists is answered as stored; throttling is surfaced', async () => {
    const db = fakeDocuments({
      put: (_, n) => Promise.reject(n === 0 ? conditionFailed() : throttled()),
      get: () => ({ Item: { pk: 'TENANT#t1', sk: 'EMAIL#m1', leaseUntil: 5, ...email, status: 'sent' } }),
    });
    const store = new DynamoEmailStore(db, 'webhooks');
    expect(await store.createEmail(email)).toEqual({ ...email, status: 'sent' });
    await expect(store.createEmail(email)).rejects.toThrow(isThrottling);
  });

  it('an email another sender holds under a lease is refused; throttling is surfaced', async () => {
    const db = fakeDocuments({ update: (_, n) => (n === 0 ? {} : Promise.reject(n === 1 ? conditionFailed() : throttled())) });
    const store = new DynamoEmailStore(db, 'webhooks');
    expect(await store.claimEmail('t1', 'm1', 1_000, 61_000)).toBe(true);
    expect(await store.claimEmail('t1', 'm1', 1_000, 61_000)).toBe(false);
    await expect(store.claimEmail('t1', 'm1', 1_000, 61_000)).rejects.toThrow(isThrottling);
  });

  it('a sent email records when and drops its lease; a retried one keeps its next attempt time', async () => {
    const db = fakeDocuments({ update: () => ({}) });
    const store = new DynamoEmailStore(db, 'webhooks');
    const at = '2026-03-10T05:01:00.000Z';
    await store.recordEmailAttempt('t1', 'm1', { at } as never, { status: 'sent' });
    await store.recordEmailAttempt('t1', 'm1', { at } as never, { status: 'pending', nextAttemptAt: '2026-03-10T05:05:00.000Z' });
    const [sent, retried] = db.inputs('update');
    expect(sent.UpdateExpression).toBe(
      'SET attempts = list_append(attempts, :a), #status = :s, sentAt = :d REMOVE leaseUntil, nextAttemptAt',
    );
    expect(retried.UpdateExpression).toBe('SET attempts = list_append(attempts, :a), #status = :s, nextAttemptAt = :n REMOVE leaseUntil');
  });

  it('an address never suppressed, an unknown recipient and an empty log are absent or empty', async () => {
    const store = new DynamoEmailStore(fakeDocuments({ get: () => ({}), query: () => ({}), delete: () => ({}) }), 'webhooks');
    expect(await store.suppressed('a@example.com')).toBeUndefined();
    expect(await store.getRecipient('t1', 'a@example.com')).toBeUndefined();
    expect(await store.deleteRecipient('t1', 'a@example.com')).toBe(false);
    expect(await store.listEmails('t1', 10)).toEqual([]);
  });
});
