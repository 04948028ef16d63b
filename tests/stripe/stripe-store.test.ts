import { describe, expect, it } from 'vitest';
import { DynamoStripeStore } from '../../shared/stripe/adapters/stripe-store.js';
import type { PendingEvent } from '../../shared/stripe/meter-reporting.js';
import type { InvoiceState, SubscriptionState } from '../../shared/stripe/mirror.js';
import type { SubscriptionLink } from '../../shared/stripe/products.js';
import { conditionFailed, fakeDocuments, throttled } from '../support/fake-documents.js';

/**
 * The Stripe context's table against DynamoDB's answers: a conditional write that lost answered as such (a
 * subscription link changed meanwhile, a report day already pending, a newer webhook's state stored), throttling
 * surfaced rather than taken for one, report records read back with only what they hold.
 */
const isThrottling = expect.objectContaining({ name: 'ProvisionedThroughputExceededException' });
const pending = {
  eventName: 'meterline_tokens',
  identifier: 'id-1',
  timestamp: 1,
  value: '5',
  after: { value: '5', sequence: 1 },
} as PendingEvent;

describe('Stripe store', () => {
  it('a subscription link changed by another run is not overwritten; a first link must not exist yet; throttling is surfaced', async () => {
    const db = fakeDocuments({ put: (_, n) => (n === 0 ? {} : Promise.reject(n === 1 ? conditionFailed() : throttled())) });
    const store = new DynamoStripeStore(db, 'stripe');
    const link = { subscriptionId: 'sub_1', version: 0 } as SubscriptionLink;
    expect(await store.saveSubscriptionLink('t1', link)).toBe(true);
    expect(db.inputs('put')[0].ConditionExpression).toBe('attribute_not_exists(pk)');
    expect(await store.saveSubscriptionLink('t1', { ...link, version: 3 })).toBe(false);
    expect(db.inputs('put')[1]).toMatchObject({
      ConditionExpression: 'version = :previous',
      ExpressionAttributeValues: { ':previous': 2 },
    });
    await expect(store.saveSubscriptionLink('t1', link)).rejects.toThrow(isThrottling);
  });

  it('a report day another run made pending, or reported past the sequence read, is not written again', async () => {
    const db = fakeDocuments({ update: (_, n) => (n < 2 ? Promise.reject(conditionFailed()) : Promise.reject(throttled())) });
    const store = new DynamoStripeStore(db, 'stripe');
    expect(await store.putPending('t1', 'tokens', '2026-03-10', pending, undefined)).toBe(false);
    expect(await store.putPending('t1', 'tokens', '2026-03-10', pending, 4)).toBe(false);
    const [first, later] = db.inputs('update');
    expect(first.ConditionExpression).toBe('attribute_not_exists(#seq) AND attribute_not_exists(pending)');
    expect(later).toMatchObject({
      ConditionExpression: '#seq = :previous AND attribute_not_exists(pending)',
      ExpressionAttributeValues: { ':previous': 4 },
    });
    // Kept 60 days past the day's start.
    expect(first.ExpressionAttributeValues[':expiresAt']).toBe(Date.parse('2026-03-10T00:00:00Z') / 1000 + 60 * 86_400);
    await expect(store.putPending('t1', 'tokens', '2026-03-10', pending, 4)).rejects.toThrow(isThrottling);
  });

  it("a webhook's state older than the one stored is not written; an invoice's progress breaks a tie within a second", async () => {
    const db = fakeDocuments({ put: () => Promise.reject(conditionFailed()) });
    const store = new DynamoStripeStore(db, 'stripe');
    const invoice = { state: { id: 'in_1', status: 'paid' } as InvoiceState, eventId: 'evt_1', eventCreated: 100 };
    expect(await store.putInvoice('t1', invoice)).toBe(false);
    expect(db.inputs('put')[0].ExpressionAttributeValues).toEqual({ ':created': 100, ':progress': 2 });
    expect(await store.putSubscription('t1', { state: { id: 'sub_1' } as SubscriptionState, eventId: 'evt_2', eventCreated: 100 })).toBe(
      false,
    );
    expect(db.inputs('put')[1].ExpressionAttributeValues[':progress']).toBe(0);
  });

  it('a mirror write throttled is surfaced', async () => {
    const db = fakeDocuments({ put: () => Promise.reject(throttled()) });
    await expect(
      new DynamoStripeStore(db, 'stripe').putSubscription('t1', { state: { id: 's' } as SubscriptionState, eventId: 'e', eventCreated: 1 }),
    ).rejects.toThrow(isThrottling);
  });

  it('reads report records from a day on, each with only what it holds', async () => {
    const db = fakeDocuments({
      query: () => ({
        Items: [
          { meter: 'tokens', day: '2026-03-08', sequence: 1, reported: 3 },
          { meter: 'tokens', day: '2026-03-10', sequence: 2, reported: 5, flagged: 4 },
          { meter: 'tokens', day: '2026-03-11', pending },
          { meter: 'seats', day: '2026-03-10' },
        ],
      }),
    });
    const records = await new DynamoStripeStore(db, 'stripe').reportRecords('t1', '2026-03-10');
    expect([...records.keys()]).toEqual(['tokens', 'seats']);
    expect([...records.get('tokens')!.values()]).toEqual([
      { day: '2026-03-10', reported: { value: '5', sequence: 2 }, flagged: '4' },
      { day: '2026-03-11', pending },
    ]);
    expect([...records.get('seats')!.values()]).toEqual([{ day: '2026-03-10' }]);
  });

  it('an unknown customer, link, mirror or webhook event is absent', async () => {
    const store = new DynamoStripeStore(fakeDocuments({ get: () => ({}), query: () => ({}) }), 'stripe');
    expect(await store.customerOf('t1')).toBeUndefined();
    expect(await store.tenantOfCustomer('cus_1')).toBeUndefined();
    expect(await store.subscriptionLink('t1')).toBeUndefined();
    expect(await store.invoice('t1', 'in_1')).toBeUndefined();
    expect(await store.seenEvent('evt_1')).toBe(false);
    expect(await store.invoiceOfPeriod('t1', 100)).toBeUndefined();
    expect(await store.issues()).toEqual([]);
  });
});
