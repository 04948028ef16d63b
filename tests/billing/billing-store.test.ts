import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DynamoBillingStore } from '../../shared/billing/adapters/billing-store.js';
import type { LedgerEntry } from '../../shared/billing/credits.js';
import type { Invoice, InvoiceDraft } from '../../shared/billing/invoices.js';
import type { Subscription } from '../../shared/billing/subscriptions.js';
import { awsError, cancelled, conditionFailed, fakeDocuments, throttled } from '../support/fake-documents.js';

/**
 * The billing table's adapter against DynamoDB's answers in the cases a stack rarely produces: the invoice-number
 * counter moved by another run, a period closed meanwhile, throttling, a status moved meanwhile, items absent.
 */
const ISSUED_AT = '2026-04-01T00:05:00.000Z';
const draft = (tenantId: string, more: Partial<InvoiceDraft> = {}): InvoiceDraft =>
  ({
    tenantId,
    currency: 'usd',
    periodStart: '2026-03-01T00:00:00.000Z',
    periodEnd: '2026-04-01T00:00:00.000Z',
    trial: false,
    planId: 'starter',
    lines: [],
    billed: [],
    subtotal: '0',
    total: '0',
    ...more,
  }) as unknown as InvoiceDraft;

/** The invoice numbers a transaction writes, and the counter move it makes. */
const written = (input: any) => ({
  counter: [
    input.TransactItems[0].Update.ExpressionAttributeValues[':last'],
    input.TransactItems[0].Update.ExpressionAttributeValues[':next'],
  ],
  numbers: input.TransactItems.slice(1).flatMap((t: any) => (t.Put ? [t.Put.Item.number] : [])),
});

/** Runs `p` to its end with the backoff sleeps between attempts skipped (fake timers). */
async function settle<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  await vi.runAllTimersAsync();
  return p;
}

describe('billing store: issuing invoices', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('a counter another run moved is read again and the invoices numbered after it, without a gap', async () => {
    let last = 4;
    const db = fakeDocuments({
      get: () => ({ Item: { last } }),
      transactWrite: (_, n) => {
        if (n > 0) return {};
        last = 6;
        return Promise.reject(cancelled('ConditionalCheckFailed', 'None', 'None'));
      },
    });
    const outcome = await settle(new DynamoBillingStore(db, 'billing').issueInvoices([draft('t1'), draft('t2')], ISSUED_AT));

    expect(db.inputs('transactWrite').map(written)).toEqual([
      { counter: [4, 6], numbers: ['INV-2026-000005', 'INV-2026-000006'] },
      { counter: [6, 8], numbers: ['INV-2026-000007', 'INV-2026-000008'] },
    ]);
    expect(outcome.issued.map((i) => [i.tenantId, i.number, i.status])).toEqual([
      ['t1', 'INV-2026-000007', 'open'],
      ['t2', 'INV-2026-000008', 'open'],
    ]);
    expect(outcome.alreadyClosed).toEqual([]);
  });

  it('a period closed meanwhile drops out untouched and uses no number; the others are issued', async () => {
    const db = fakeDocuments({
      get: () => ({}),
      transactWrite: (_, n) => (n === 0 ? Promise.reject(cancelled('None', 'None', 'ConditionalCheckFailed', 'None')) : {}),
    });
    const drafts = [draft('t1'), draft('t2'), draft('t3')];
    const outcome = await settle(new DynamoBillingStore(db, 'billing').issueInvoices(drafts, ISSUED_AT));

    expect(outcome.alreadyClosed).toEqual([drafts[1]]);
    expect(outcome.issued.map((i) => [i.tenantId, i.number])).toEqual([
      ['t1', 'INV-2026-000001'],
      ['t3', 'INV-2026-000002'],
    ]);
    // The year's first invoices: the counter must not exist yet.
    expect(db.inputs('transactWrite')[1].TransactItems[0].Update.ConditionExpression).toBe('attribute_not_exists(pk)');
  });

  it('throttling and a conflict with another transaction are retried after a backoff', async () => {
    const faults = [throttled(), cancelled('TransactionConflict', 'None')];
    const db = fakeDocuments({
      get: () => ({ Item: { last: 1 } }),
      transactWrite: (_, n) => (n < faults.length ? Promise.reject(faults[n]) : {}),
    });
    const outcome = await settle(new DynamoBillingStore(db, 'billing').issueInvoices([draft('t1')], ISSUED_AT));
    expect(outcome.issued.map((i) => i.number)).toEqual(['INV-2026-000002']);
    expect(db.inputs('transactWrite')).toHaveLength(3);
  });

  it('throttling that outlasts the attempts is surfaced, with nothing issued', async () => {
    const db = fakeDocuments({ get: () => ({}), transactWrite: () => Promise.reject(throttled()) });
    await expect(settle(new DynamoBillingStore(db, 'billing', 3).issueInvoices([draft('t1')], ISSUED_AT))).rejects.toThrow(
      expect.objectContaining({ name: 'ProvisionedThroughputExceededException' }),
    );
    expect(db.inputs('transactWrite')).toHaveLength(3);
  });

  it('DynamoDB refusing the data is surfaced at once, not retried', async () => {
    const db = fakeDocuments({
      get: () => ({}),
      transactWrite: () => Promise.reject(cancelled('None', 'ValidationError')),
    });
    await expect(settle(new DynamoBillingStore(db, 'billing').issueInvoices([draft('t1')], ISSUED_AT))).rejects.toThrow(
      expect.objectContaining({ name: 'TransactionCanceledException' }),
    );
    expect(db.inputs('transactWrite')).toHaveLength(1);
  });

  it('writes at most 25 invoices per transaction, each batch numbered on from the last', async () => {
    let last = 0;
    const db = fakeDocuments({
      get: () => (last ? { Item: { last } } : {}),
      transactWrite: (input: any) => {
        last = input.TransactItems[0].Update.ExpressionAttributeValues[':next'];
      },
    });
    const drafts = Array.from({ length: 30 }, (_, i) => draft(`t${i}`));
    const outcome = await settle(new DynamoBillingStore(db, 'billing').issueInvoices(drafts, ISSUED_AT));
    expect(db.inputs('transactWrite').map((t) => written(t).counter)).toEqual([
      [undefined, 25],
      [25, 30],
    ]);
    expect(outcome.issued.at(-1)?.number).toBe('INV-2026-000030');
  });
});

describe('billing store: progressive invoices and reissues', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());
  const progressive = draft('t1', { progressive: { index: 2 } as InvoiceDraft['progressive'] });

  it('a progressive invoice another run issued first (or a period closed) is lost: nothing issued, no number used', async () => {
    const db = fakeDocuments({
      get: () => ({ Item: { last: 9 } }),
      transactWrite: () => Promise.reject(cancelled('None', 'ConditionalCheckFailed', 'None', 'None')),
    });
    expect(await settle(new DynamoBillingStore(db, 'billing').issueProgressive(progressive, 2, ISSUED_AT))).toBeUndefined();
    const [{ TransactItems: items }] = db.inputs('transactWrite');
    expect(items[1].Update).toMatchObject({
      ConditionExpression: '#count = :earlier',
      ExpressionAttributeValues: { ':earlier': 2, ':next': 3 },
    });
    expect(items[2].Put.Item.sk).toBe('PROGRESSIVE#2026-03-01T00:00:00.000Z#000002');
  });

  it('a progressive invoice retries when only the number counter moved', async () => {
    const db = fakeDocuments({
      get: (_, n) => ({ Item: { last: 9 + n } }),
      transactWrite: (_, n) => (n === 0 ? Promise.reject(cancelled('ConditionalCheckFailed', 'None', 'None', 'None')) : {}),
    });
    const invoice = await settle(new DynamoBillingStore(db, 'billing').issueProgressive(progressive, 0, ISSUED_AT));
    expect(invoice?.number).toBe('INV-2026-000011');
    expect(db.inputs('transactWrite')[0].TransactItems[1].Update.ConditionExpression).toBe('attribute_not_exists(pk)');
  });

  it('refuses a draft that is not progressive', async () => {
    const db = fakeDocuments({});
    await expect(new DynamoBillingStore(db, 'billing').issueProgressive(draft('t1'), 0, ISSUED_AT)).rejects.toThrow('progressive draft');
  });

  it('a reissue of an invoice that changed meanwhile writes nothing; a counter that moved is retried', async () => {
    const original = {
      ...draft('t1'),
      id: 'INV-2026-000003',
      number: 'INV-2026-000003',
      status: 'void',
      issuedAt: ISSUED_AT,
      statusHistory: [{ status: 'void', at: ISSUED_AT }],
    } as Invoice;
    const db = fakeDocuments({
      get: () => ({ Item: { last: 7 } }),
      transactWrite: (_, n) =>
        Promise.reject(n === 0 ? cancelled('ConditionalCheckFailed', 'None', 'None') : cancelled('None', 'ConditionalCheckFailed', 'None')),
    });
    expect(await settle(new DynamoBillingStore(db, 'billing').reissueInvoice(original, draft('t1'), ISSUED_AT))).toBeUndefined();
    expect(db.inputs('transactWrite')).toHaveLength(2);
    // A voided original keeps its history: it was void already.
    expect(db.inputs('transactWrite')[0].TransactItems[2].Put.Item).toMatchObject({
      status: 'void',
      replacedBy: 'INV-2026-000008',
      statusHistory: original.statusHistory,
    });
  });
  it('a reissue DynamoDB refuses is surfaced at once, the original left open', async () => {
    const original = {
      ...draft('t1'),
      id: 'INV-2026-000003',
      number: 'INV-2026-000003',
      status: 'open',
      issuedAt: ISSUED_AT,
      statusHistory: [],
    } as unknown as Invoice;
    const db = fakeDocuments({
      get: () => ({ Item: { last: 7 } }),
      transactWrite: () => Promise.reject(awsError('ValidationException', 'Item size has exceeded the maximum allowed size')),
    });
    await expect(settle(new DynamoBillingStore(db, 'billing').reissueInvoice(original, draft('t1'), ISSUED_AT))).rejects.toThrow(
      'maximum allowed size',
    );
    expect(db.inputs('transactWrite')).toHaveLength(1);
    expect(db.inputs('transactWrite')[0].TransactItems[2].Put.Item.statusHistory).toEqual([{ status: 'void', at: ISSUED_AT }]);
  });
});

describe('billing store: invoice status', () => {
  const invoice = {
    ...draft('t1'),
    id: 'INV-2026-000001',
    number: 'INV-2026-000001',
    status: 'open',
    issuedAt: ISSUED_AT,
    statusHistory: [],
  };

  it('a status moved meanwhile is read again and the move re-checked: paid cannot become void', async () => {
    const db = fakeDocuments({
      query: () => ({ Items: [{ pk: 'x', sk: 'y', ...invoice }] }),
      update: () => Promise.reject(conditionFailed()),
      get: () => ({ Item: { ...invoice, status: 'paid' } }),
    });
    await expect(new DynamoBillingStore(db, 'billing').setInvoiceStatus('t1', invoice.id, 'void', ISSUED_AT)).rejects.toMatchObject({
      code: 'CONFLICT',
      field: 'status',
    });
    expect(db.inputs('get')[0].ConsistentRead).toBe(true);
  });

  it("another tenant's invoice of that number is not found", async () => {
    const db = fakeDocuments({ query: () => ({ Items: [{ ...invoice, tenantId: 't2' }] }) });
    expect(await new DynamoBillingStore(db, 'billing').setInvoiceStatus('t1', invoice.id, 'paid', ISSUED_AT)).toBeUndefined();
  });

  it('throttling while moving a status is surfaced', async () => {
    const db = fakeDocuments({ query: () => ({ Items: [invoice] }), update: () => Promise.reject(throttled()) });
    await expect(new DynamoBillingStore(db, 'billing').setInvoiceStatus('t1', invoice.id, 'paid', ISSUED_AT)).rejects.toThrow(
      expect.objectContaining({ name: 'ProvisionedThroughputExceededException' }),
    );
  });

  it('links a Stripe invoice without a hosted page as just its id', async () => {
    const db = fakeDocuments({
      update: (input) => ({ Attributes: { ...invoice, stripeInvoiceId: input.ExpressionAttributeValues![':id'] } }),
    });
    const linked = await new DynamoBillingStore(db, 'billing').linkProviderInvoice(invoice as Invoice, { id: 'in_1' } as never);
    expect(linked.stripeInvoiceId).toBe('in_1');
    expect(db.inputs('update')[0].UpdateExpression).toBe('SET stripeInvoiceId = :id');
  });
});

describe('billing store: conditional writes that lost, and absent items', () => {
  it('a plan version that exists already is not published again; other faults are surfaced', async () => {
    const db = fakeDocuments({ put: (_, n) => Promise.reject(n === 0 ? conditionFailed() : throttled()) });
    const store = new DynamoBillingStore(db, 'billing');
    const plan = { id: 'starter', version: 2 } as never;
    expect(await store.publishPlan(plan)).toBe(false);
    expect(db.inputs('put')[0].Item).toMatchObject({ pk: 'PLAN#starter', sk: 'VERSION#000002' });
    expect(db.inputs('put')[0].Item).not.toHaveProperty('gsi1pk');
    await expect(store.publishPlan(plan)).rejects.toThrow(expect.objectContaining({ name: 'ProvisionedThroughputExceededException' }));
  });

  it('a plan version never stored is absent, while a first version not stored is the seed plan', async () => {
    const store = new DynamoBillingStore(fakeDocuments({ get: () => ({}) }), 'billing');
    expect(await store.getPlan('starter@3')).toBeUndefined();
    expect((await store.getPlan('starter'))?.id).toBe('starter');
    expect(await store.getPlan('no-such-plan')).toBeUndefined();
  });

  it('a subscription changed by another writer is not overwritten; a new one must not exist yet', async () => {
    const db = fakeDocuments({ put: (_, n) => (n === 0 ? {} : Promise.reject(n === 1 ? conditionFailed() : throttled())) });
    const store = new DynamoBillingStore(db, 'billing');
    const sub = { tenantId: 't1', planId: 'starter', version: 0 } as unknown as Subscription;
    expect(await store.putSubscription(sub)).toBe(true);
    expect(db.inputs('put')[0]).toMatchObject({ ConditionExpression: 'attribute_not_exists(pk)', Item: { version: 1 } });
    expect(db.inputs('put')[0]).not.toHaveProperty('ExpressionAttributeValues');
    expect(await store.putSubscription({ ...sub, version: 4 })).toBe(false);
    expect(db.inputs('put')[1]).toMatchObject({ ConditionExpression: 'version = :v', ExpressionAttributeValues: { ':v': 4 } });
    await expect(store.putSubscription(sub)).rejects.toThrow(expect.objectContaining({ name: 'ProvisionedThroughputExceededException' }));
  });

  it('pages subscriptions by tenant, and counts them through every page', async () => {
    const db = fakeDocuments({
      query: (input, n) =>
        input.Select === 'COUNT'
          ? n === 1
            ? { Count: 2, LastEvaluatedKey: { gsi1sk: 't2' } }
            : { Count: 1 }
          : { Items: [{ pk: 'TENANT#t3', sk: 'SUBSCRIPTION', tenantId: 't3' }], LastEvaluatedKey: { gsi1sk: 't3' } },
    });
    const store = new DynamoBillingStore(db, 'billing');
    expect(await store.subscriptionPage('t2', 1)).toEqual({ subscriptions: [{ tenantId: 't3' }], next: 't3' });
    expect(db.inputs('query')[0].ExclusiveStartKey).toMatchObject({ gsi1pk: 'SUBSCRIPTIONS', gsi1sk: 't2' });
    expect(await store.countSubscriptions()).toBe(3);
    expect(db.inputs('query')[2].ExclusiveStartKey).toEqual({ gsi1sk: 't2' });
  });

  it('a scope paused already keeps its first pause; resuming or deleting what is not there answers absent', async () => {
    const db = fakeDocuments({ put: () => Promise.reject(conditionFailed()), delete: () => ({}) });
    const store = new DynamoBillingStore(db, 'billing');
    expect(await store.pause({ scope: 't1', reason: 'dispute', pausedAt: ISSUED_AT })).toBe(false);
    expect(await store.resume('t1')).toBeUndefined();
    expect(await store.deleteQuota('t1', 'tokens')).toBe(false);
  });

  it('a pause write throttled is surfaced, not taken for a pause in force', async () => {
    const db = fakeDocuments({ put: () => Promise.reject(throttled()) });
    await expect(new DynamoBillingStore(db, 'billing').pause({ scope: '*', reason: 'x', pausedAt: ISSUED_AT })).rejects.toThrow(
      expect.objectContaining({ name: 'ProvisionedThroughputExceededException' }),
    );
  });

  it('a credit grant whose id exists is refused as such; a throttled one is surfaced', async () => {
    const db = fakeDocuments({
      transactWrite: (_, n) => Promise.reject(n === 0 ? cancelled('ConditionalCheckFailed', 'None') : throttled()),
    });
    const store = new DynamoBillingStore(db, 'billing');
    const grant = { tenantId: 't1', id: 'g1' } as never;
    const entry = { tenantId: 't1', id: 'e1' } as never;
    expect(await store.putCreditGrant(grant, entry)).toBe(false);
    await expect(store.putCreditGrant(grant, entry)).rejects.toThrow(
      expect.objectContaining({ name: 'ProvisionedThroughputExceededException' }),
    );
  });

  it('appending credit entries again after a crash leaves those written as they are and writes the rest', async () => {
    const entries = ['e1', 'e2', 'e3'].map((id) => ({ tenantId: 't1', id }) as LedgerEntry);
    const db = fakeDocuments({ put: (input) => (input.Item!.id === 'e3' ? {} : Promise.reject(conditionFailed())) });
    await new DynamoBillingStore(db, 'billing').appendCreditEntries(entries);
    expect(db.inputs('put').map((p) => p.Item.sk)).toEqual(['CREDIT-ENTRY#e1', 'CREDIT-ENTRY#e2', 'CREDIT-ENTRY#e3']);

    const failing = fakeDocuments({
      put: () => Promise.reject(awsError('ValidationException', 'Item size has exceeded the maximum allowed size')),
    });
    await expect(new DynamoBillingStore(failing, 'billing').appendCreditEntries(entries)).rejects.toThrow('maximum allowed size');
    expect(failing.inputs('put')).toHaveLength(1);
  });

  it('lists invoices a page of periods at a time, each page with the progressive invoices of its periods', async () => {
    const inv = (periodStart: string, issuedAt: string, sk: string) => ({ pk: 'TENANT#t1', sk, tenantId: 't1', periodStart, issuedAt });
    const db = fakeDocuments({
      query: (input) =>
        input.ExpressionAttributeValues![':prefix']
          ? {
              Items: [inv('2026-03-01', '2026-04-01', 'INVOICE#2026-03-01'), inv('2026-02-01', '2026-03-01', 'INVOICE#2026-02-01')],
              LastEvaluatedKey: { pk: 'TENANT#t1', sk: 'INVOICE#2026-02-01' },
            }
          : { Items: [inv('2026-03-01', '2026-03-20', 'PROGRESSIVE#2026-03-01#000001')] },
    });
    const page = await new DynamoBillingStore(db, 'billing').listInvoices('t1', 2, '2026-04-01');

    expect(page.cursor).toBe('2026-02-01');
    expect(page.invoices.map((i) => [i.periodStart, i.issuedAt])).toEqual([
      ['2026-03-01', '2026-04-01'],
      ['2026-03-01', '2026-03-20'],
      ['2026-02-01', '2026-03-01'],
    ]);
    const [invoices, progressive] = db.inputs('query');
    expect(invoices).toMatchObject({ ScanIndexForward: false, Limit: 2, ExclusiveStartKey: { sk: 'INVOICE#2026-04-01' } });
    expect(progressive.ExpressionAttributeValues).toMatchObject({ ':from': 'PROGRESSIVE#2026-02-01#', ':to': 'PROGRESSIVE#2026-04-01' });
  });

  it('a seller or customer never saved is absent', async () => {
    const store = new DynamoBillingStore(fakeDocuments({ get: () => ({}) }), 'billing');
    expect(await store.getSeller()).toBeUndefined();
    expect(await store.getCustomer('t1')).toBeUndefined();
    expect(await store.invoiceForPeriod('t1', '2026-03-01T00:00:00Z')).toBeUndefined();
  });
});
