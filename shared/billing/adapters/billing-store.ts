import { chunk } from '../../kernel/batching.js';
import { backoffDelay, sleep } from '../../kernel/retry.js';
import type { Documents } from '../../platform/dynamo/documents.js';
import { cancellationReasons, errorName, isRetryableError, isRetryableReason } from '../../platform/dynamo/errors.js';
import { queryAll, queryPages } from '../../platform/dynamo/query.js';
import type { CreditGrant, LedgerEntry } from '../credits.js';
import {
  assertTransition,
  type Invoice,
  type InvoiceDraft,
  type InvoiceStatus,
  invoiceChanges,
  invoiceNumber,
  type ProviderInvoice,
} from '../invoices.js';
import type { Party, Seller } from '../parties.js';
import type { BillingPause } from '../pauses.js';
import { type Plan, parsePlanRef, seedPlans, versionOf } from '../plans.js';
import type { BillingStore, IssueOutcome } from '../ports.js';
import type { Quota } from '../quotas.js';
import type { Subscription } from '../subscriptions.js';
import { INVOICE_PREFIX, invoiceKey, tenantPk } from './invoiced.js';

const planKey = (planId: string) => ({ pk: `PLAN#${planId}`, sk: 'PLAN' });
/** A plan's first version is its `PLAN` item (as before versions existed); later ones sit beside it. */
const planVersionKey = (planId: string, version: number) =>
  version === 1 ? planKey(planId) : { pk: `PLAN#${planId}`, sk: `VERSION#${String(version).padStart(6, '0')}` };
const subscriptionKey = (tenantId: string) => ({ pk: tenantPk(tenantId), sk: 'SUBSCRIPTION' });
const quotaKey = (tenantId: string, meter: string) => ({ pk: tenantPk(tenantId), sk: `QUOTA#${meter}` });
const grantKey = (tenantId: string, id: string) => ({ pk: tenantPk(tenantId), sk: `CREDIT-GRANT#${id}` });
const entryKey = (tenantId: string, id: string) => ({ pk: tenantPk(tenantId), sk: `CREDIT-ENTRY#${id}` });
const sellerKey = { pk: 'SELLER', sk: 'PROFILE' };
const customerKey = (tenantId: string) => ({ pk: tenantPk(tenantId), sk: 'CUSTOMER' });
const counterKey = (year: number) => ({ pk: `INVOICE-NUMBER#${year}`, sk: 'COUNTER' });
const pauseKey = (scope: string) => ({ pk: 'BILLING-PAUSES', sk: scope });
/** Where a reissued invoice is kept: outside the `INVOICE#` range, which holds the one invoice in force per period. */
const replacedKey = (tenantId: string, periodStart: string, number: string) => ({
  pk: tenantPk(tenantId),
  sk: `REPLACED#${periodStart}#${number}`,
});

/**
 * Progressive invoices sit beside the `INVOICE#` range (which holds one invoice per closed period), one per
 * period × threshold index; the period's `PROGRESSIVE-COUNT#<period start>` item (outside that range) counts
 * them, so that two runs can never both issue the period's next one from the same reading.
 */
const progressiveKey = (tenantId: string, periodStart: string, index: number) => ({
  pk: tenantPk(tenantId),
  sk: `PROGRESSIVE#${periodStart}#${String(index).padStart(6, '0')}`,
});
const progressCountKey = (tenantId: string, periodStart: string) => ({ pk: tenantPk(tenantId), sk: `PROGRESSIVE-COUNT#${periodStart}` });
/** Where an invoice is stored: its progressive threshold's item, or its period's. */
const keyOf = (invoice: Invoice) =>
  invoice.progressive
    ? progressiveKey(invoice.tenantId, invoice.periodStart, invoice.progressive.index)
    : invoiceKey(invoice.tenantId, invoice.periodStart);

/** Invoices written in one transaction with their counter: 1 + 25 items stays far below DynamoDB's 100 items and 4 MB. */
const INVOICES_PER_TRANSACTION = 25;

/**
 * Plans, subscriptions, quotas, invoices, the invoice-number counters and the seller's and customers'
 * billing details, in the `billing` table.
 *
 * An invoice's key is (tenant, period start): writing it conditionally *is* closing the period, so a
 * period can never get a second invoice. It is written in one transaction with the year's counter
 * (conditional on the value read), so numbers are unique and gap-free: a transaction that fails
 * consumes no number, and a counter that moved makes the writer read it again and retry.
 *
 * Read API for other modules (Stripe reconciliation): `invoiceForPeriod`, `getInvoice`, `listInvoices`.
 */
export class DynamoBillingStore implements BillingStore {
  constructor(
    private readonly db: Documents,
    private readonly table: string,
    private readonly maxAttempts = 50,
  ) {}

  /** The version a plan reference names (plans.ts `planRef`): stored, or the seed plan of that id for a first version. */
  async getPlan(ref: string): Promise<Plan | undefined> {
    const { planId, version } = parsePlanRef(ref);
    const r = await this.db.get({ TableName: this.table, Key: planVersionKey(planId, version) });
    return r.Item ? toPlan(r.Item) : version === 1 ? seedPlans.find((p) => p.id === planId) : undefined;
  }

  /** Every version of the plan, first to latest (one partition); none when the plan does not exist. */
  async planVersions(planId: string): Promise<Plan[]> {
    const stored = (
      await queryAll(this.db, {
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `PLAN#${planId}` },
        ConsistentRead: true,
      })
    ).map(toPlan);
    const seed = stored.some((p) => versionOf(p) === 1) ? [] : seedPlans.filter((p) => p.id === planId);
    return [...seed, ...stored].sort((a, b) => versionOf(a) - versionOf(b));
  }

  /** Writes a new version (a first version is listed among the plans); false when that version exists already. */
  async publishPlan(plan: Plan): Promise<boolean> {
    const first = versionOf(plan) === 1;
    try {
      await this.db.put({
        TableName: this.table,
        Item: { ...planVersionKey(plan.id, versionOf(plan)), ...(first ? { gsi1pk: 'PLANS', gsi1sk: plan.id } : {}), ...plan },
        ConditionExpression: 'attribute_not_exists(pk)',
      });
      return true;
    } catch (error) {
      if (errorName(error) === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  async listPlans(): Promise<Plan[]> {
    const stored = (
      await queryAll(this.db, {
        TableName: this.table,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :pk',
        ExpressionAttributeValues: { ':pk': 'PLANS' },
      })
    ).map(toPlan);
    const ids = new Set(stored.map((p) => p.id));
    return [...stored, ...seedPlans.filter((p) => !ids.has(p.id))].sort((a, b) => a.id.localeCompare(b.id));
  }

  async putPlan(plan: Plan): Promise<void> {
    await this.db.put({ TableName: this.table, Item: { ...planKey(plan.id), gsi1pk: 'PLANS', gsi1sk: plan.id, ...plan } });
  }

  async getSubscription(tenantId: string): Promise<Subscription | undefined> {
    const r = await this.db.get({ TableName: this.table, Key: subscriptionKey(tenantId), ConsistentRead: true });
    return r.Item ? (strip(r.Item) as Subscription) : undefined;
  }

  /** Writes `sub` if the stored one still has `sub.version` (or none exists, for version 0); false otherwise. */
  async putSubscription(sub: Subscription): Promise<boolean> {
    try {
      await this.db.put({
        TableName: this.table,
        Item: { ...subscriptionKey(sub.tenantId), gsi1pk: 'SUBSCRIPTIONS', gsi1sk: sub.tenantId, ...sub, version: sub.version + 1 },
        ConditionExpression: sub.version === 0 ? 'attribute_not_exists(pk)' : 'version = :v',
        ...(sub.version === 0 ? {} : { ExpressionAttributeValues: { ':v': sub.version } }),
      });
      return true;
    } catch (error) {
      if (errorName(error) === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  /** Every subscription, a page at a time (the invoice job works page by page). */
  async *subscriptionPages(pageSize = 1_000): AsyncGenerator<Subscription[]> {
    const pages = queryPages(this.db, {
      TableName: this.table,
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: { ':pk': 'SUBSCRIPTIONS' },
      Limit: pageSize,
    });
    for await (const items of pages) yield items.map((i) => strip(i) as Subscription);
  }

  /** Up to `limit` subscriptions after tenant `after`, in tenant order (the index's sort key); `next` when more may follow. */
  async subscriptionPage(after: string | undefined, limit: number): Promise<{ subscriptions: Subscription[]; next?: string }> {
    const r = await this.db.query({
      TableName: this.table,
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: { ':pk': 'SUBSCRIPTIONS' },
      Limit: limit,
      ...(after ? { ExclusiveStartKey: { ...subscriptionKey(after), gsi1pk: 'SUBSCRIPTIONS', gsi1sk: after } } : {}),
    });
    const subscriptions = (r.Items ?? []).map((i) => strip(i) as Subscription);
    return { subscriptions, ...(r.LastEvaluatedKey ? { next: String(r.LastEvaluatedKey.gsi1sk) } : {}) };
  }

  async countSubscriptions(): Promise<number> {
    let count = 0;
    let startKey: Record<string, unknown> | undefined;
    do {
      const r = await this.db.query({
        TableName: this.table,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :pk',
        ExpressionAttributeValues: { ':pk': 'SUBSCRIPTIONS' },
        Select: 'COUNT',
        ExclusiveStartKey: startKey,
      });
      count += r.Count ?? 0;
      startKey = r.LastEvaluatedKey;
    } while (startKey);
    return count;
  }

  /** The tenant's invoice with the latest period (a consistent read: the invoice job and plan changes rely on it). */
  async latestInvoice(tenantId: string): Promise<Invoice | undefined> {
    return (await this.invoicePage(tenantId, 1, undefined, true)).invoices[0];
  }

  /** The invoice that closed the period starting at `periodStart` (ISO 8601), if any. */
  async invoiceForPeriod(tenantId: string, periodStart: string): Promise<Invoice | undefined> {
    const r = await this.db.get({
      TableName: this.table,
      Key: invoiceKey(tenantId, new Date(periodStart).toISOString()),
      ConsistentRead: true,
    });
    return r.Item ? toInvoice(r.Item) : undefined;
  }

  /** One of the tenant's invoices by id (its number); another tenant's invoice is not found. */
  async getInvoice(tenantId: string, id: string): Promise<Invoice | undefined> {
    const r = await this.db.query({
      TableName: this.table,
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: { ':pk': `INVOICE#${id}` },
    });
    const item = r.Items?.find((i) => i.tenantId === tenantId);
    return item ? toInvoice(item) : undefined;
  }

  /**
   * The tenant's invoices, newest period first; `cursor` continues a previous page. `limit` counts periods:
   * the progressive invoices of the page's periods (and, on the first page, of the open period) come with
   * them, newest first within a period, read in one more query over their range.
   */
  async listInvoices(tenantId: string, limit = 50, cursor?: string): Promise<{ invoices: Invoice[]; cursor?: string }> {
    const page = await this.invoicePage(tenantId, limit, cursor, false);
    const from = page.cursor ? page.invoices.at(-1)!.periodStart : '';
    const progressive = await queryAll(this.db, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: {
        ':pk': tenantPk(tenantId),
        ':from': `PROGRESSIVE#${from}#`,
        // Below the cursor's period: that period and the newer ones were on earlier pages.
        ':to': cursor ? `PROGRESSIVE#${cursor}` : 'PROGRESSIVE#~',
      },
    });
    const invoices = [...page.invoices, ...progressive.map(toInvoice)].sort(
      (a, b) => b.periodStart.localeCompare(a.periodStart) || b.issuedAt.localeCompare(a.issuedAt),
    );
    return { invoices, ...(page.cursor ? { cursor: page.cursor } : {}) };
  }

  private async invoicePage(
    tenantId: string,
    limit: number,
    cursor: string | undefined,
    consistent: boolean,
  ): Promise<{ invoices: Invoice[]; cursor?: string }> {
    const r = await this.db.query({
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': tenantPk(tenantId), ':prefix': INVOICE_PREFIX },
      ScanIndexForward: false,
      Limit: limit,
      ConsistentRead: consistent,
      ...(cursor ? { ExclusiveStartKey: invoiceKey(tenantId, cursor) } : {}),
    });
    const invoices = (r.Items ?? []).map(toInvoice);
    return { invoices, ...(r.LastEvaluatedKey ? { cursor: String(r.LastEvaluatedKey.sk).slice(INVOICE_PREFIX.length) } : {}) };
  }

  /**
   * Numbers and writes the drafts as `open` invoices issued at `issuedAt`, closing their periods.
   * Drafts whose period is already closed are returned untouched, and use no number.
   */
  async issueInvoices(drafts: readonly InvoiceDraft[], issuedAt: string): Promise<IssueOutcome> {
    const outcome: IssueOutcome = { issued: [], alreadyClosed: [] };
    const year = new Date(issuedAt).getUTCFullYear();
    for (const batch of chunk(drafts, INVOICES_PER_TRANSACTION)) {
      let pending = [...batch];
      for (let attempt = 1; pending.length > 0; attempt++) {
        const last = await this.lastNumber(year);
        const invoices = pending.map((draft, i): Invoice => {
          const number = invoiceNumber(year, last + i + 1);
          return { ...draft, id: number, number, status: 'open', issuedAt, statusHistory: [{ status: 'open', at: issuedAt }] };
        });
        try {
          await this.db.transactWrite({
            TransactItems: [
              this.claimNumbers(year, last, invoices.length),
              ...invoices.map((invoice) => ({
                Put: {
                  TableName: this.table,
                  Item: {
                    ...invoiceKey(invoice.tenantId, invoice.periodStart),
                    gsi1pk: `INVOICE#${invoice.number}`,
                    gsi1sk: invoice.tenantId,
                    ...invoice,
                  },
                  ConditionExpression: 'attribute_not_exists(pk)',
                },
              })),
            ],
          });
          outcome.issued.push(...invoices);
          pending = [];
        } catch (error) {
          const reasons = cancellationReasons(error);
          const retryable = reasons
            ? reasons.some((r) => r.Code === 'ConditionalCheckFailed' || isRetryableReason(r.Code))
            : isRetryableError(error);
          if (!retryable || attempt >= this.maxAttempts) throw error;
          // A closed period drops out; a moved counter or a conflict just means: read the counter again.
          const closed = new Set(reasons?.flatMap((r, i) => (i > 0 && r.Code === 'ConditionalCheckFailed' ? [i - 1] : [])) ?? []);
          outcome.alreadyClosed.push(...pending.filter((_, i) => closed.has(i)));
          pending = pending.filter((_, i) => !closed.has(i));
          if (closed.size === 0) await sleep(backoffDelay(Math.min(attempt, 6), 5, 200));
        }
      }
    }
    return outcome;
  }

  /**
   * Voids `original` and issues `draft` for the same period in its place, in one transaction with the
   * year's number counter (so numbering stays gap-free): the replacement takes the period's key, the
   * original moves to a `REPLACED#` item that keeps its number, voided and linked to the replacement.
   * Undefined when the original changed meanwhile (another reissue or a status move): nothing is written.
   */
  async reissueInvoice(original: Invoice, draft: InvoiceDraft, at: string): Promise<Invoice | undefined> {
    const year = new Date(at).getUTCFullYear();
    for (let attempt = 1; ; attempt++) {
      const last = await this.lastNumber(year);
      const number = invoiceNumber(year, last + 1);
      const replacement: Invoice = {
        ...draft,
        id: number,
        number,
        status: 'open',
        issuedAt: at,
        statusHistory: [{ status: 'open', at }],
        replaces: { id: original.id, changes: invoiceChanges(original, draft) },
      };
      const voided: Invoice = {
        ...original,
        status: 'void',
        replacedBy: number,
        statusHistory: original.status === 'void' ? original.statusHistory : [...original.statusHistory, { status: 'void', at }],
      };
      try {
        await this.db.transactWrite({
          TransactItems: [
            this.claimNumbers(year, last, 1),
            {
              Put: {
                TableName: this.table,
                Item: {
                  ...invoiceKey(draft.tenantId, draft.periodStart),
                  gsi1pk: `INVOICE#${number}`,
                  gsi1sk: draft.tenantId,
                  ...replacement,
                },
                ConditionExpression: '#number = :number AND #status = :status',
                ExpressionAttributeNames: { '#number': 'number', '#status': 'status' },
                ExpressionAttributeValues: { ':number': original.number, ':status': original.status },
              },
            },
            {
              Put: {
                TableName: this.table,
                Item: {
                  ...replacedKey(original.tenantId, original.periodStart, original.number),
                  gsi1pk: `INVOICE#${original.number}`,
                  gsi1sk: original.tenantId,
                  ...voided,
                },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
          ],
        });
        return replacement;
      } catch (error) {
        if ((await this.afterNumberedWrite(error, attempt)) === 'lost') return undefined;
      }
    }
  }

  /**
   * After a transaction that takes the year's next invoice number (its first item) failed: 'lost' when one of its
   * other conditions failed (the invoice is there already); 'again', after a backoff, when the number moved meanwhile
   * or DynamoDB asks to retry; otherwise (or once attempts run out) it throws the error.
   */
  private async afterNumberedWrite(error: unknown, attempt: number): Promise<'lost' | 'again'> {
    const reasons = cancellationReasons(error);
    if (reasons?.slice(1).some((r) => r.Code === 'ConditionalCheckFailed')) return 'lost';
    const retryable = reasons
      ? reasons.some((r) => r.Code === 'ConditionalCheckFailed' || isRetryableReason(r.Code))
      : isRetryableError(error);
    if (!retryable || attempt >= this.maxAttempts) throw error;
    await sleep(backoffDelay(Math.min(attempt, 6), 5, 200));
    return 'again';
  }

  /** The progressive invoices of a period, by threshold index (a consistent read: issuing relies on it). */
  async progressiveInvoices(tenantId: string, periodStart: string): Promise<Invoice[]> {
    const items = await queryAll(this.db, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': tenantPk(tenantId), ':prefix': `PROGRESSIVE#${new Date(periodStart).toISOString()}#` },
      ConsistentRead: true,
    });
    return items.map(toInvoice);
  }

  /**
   * One transaction: the year's counter, the period's count of progressive invoices moving from `earlier`
   * (so of two runs that read the same invoices only one issues), the invoice under its threshold's key (so a
   * threshold is invoiced once), and a check that the period has no final invoice yet.
   */
  async issueProgressive(draft: InvoiceDraft, earlier: number, issuedAt: string): Promise<Invoice | undefined> {
    if (!draft.progressive) throw new Error('issueProgressive takes a progressive draft');
    const year = new Date(issuedAt).getUTCFullYear();
    for (let attempt = 1; ; attempt++) {
      const last = await this.lastNumber(year);
      const number = invoiceNumber(year, last + 1);
      const invoice: Invoice = {
        ...draft,
        id: number,
        number,
        status: 'open',
        issuedAt,
        statusHistory: [{ status: 'open', at: issuedAt }],
      };
      try {
        await this.db.transactWrite({
          TransactItems: [
            this.claimNumbers(year, last, 1),
            {
              Update: {
                TableName: this.table,
                Key: progressCountKey(draft.tenantId, draft.periodStart),
                UpdateExpression: 'SET #count = :next',
                ConditionExpression: earlier === 0 ? 'attribute_not_exists(pk)' : '#count = :earlier',
                ExpressionAttributeNames: { '#count': 'count' },
                ExpressionAttributeValues: { ':next': earlier + 1, ...(earlier === 0 ? {} : { ':earlier': earlier }) },
              },
            },
            {
              Put: {
                TableName: this.table,
                Item: { ...keyOf(invoice), gsi1pk: `INVOICE#${number}`, gsi1sk: invoice.tenantId, ...invoice },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              ConditionCheck: {
                TableName: this.table,
                Key: invoiceKey(draft.tenantId, draft.periodStart),
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
          ],
        });
        return invoice;
      } catch (error) {
        if ((await this.afterNumberedWrite(error, attempt)) === 'lost') return undefined;
      }
    }
  }

  /** Moves an invoice along its status machine; CONFLICT if the move is not allowed (re-checked if it moved meanwhile). */
  async setInvoiceStatus(tenantId: string, id: string, status: InvoiceStatus, at: string): Promise<Invoice | undefined> {
    let invoice = await this.getInvoice(tenantId, id);
    if (!invoice) return undefined;
    for (;;) {
      assertTransition(invoice.status, status);
      try {
        const r = await this.db.update({
          TableName: this.table,
          Key: keyOf(invoice),
          UpdateExpression: 'SET #status = :to, statusHistory = list_append(statusHistory, :entry)',
          ConditionExpression: '#status = :from',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':to': status, ':from': invoice.status, ':entry': [{ status, at }] },
          ReturnValues: 'ALL_NEW',
        });
        return toInvoice(r.Attributes!);
      } catch (error) {
        if (errorName(error) !== 'ConditionalCheckFailedException') throw error;
        const r = await this.db.get({ TableName: this.table, Key: keyOf(invoice), ConsistentRead: true });
        invoice = toInvoice(r.Item!);
      }
    }
  }

  async linkProviderInvoice(invoice: Invoice, provider: ProviderInvoice): Promise<Invoice> {
    const r = await this.db.update({
      TableName: this.table,
      Key: keyOf(invoice),
      UpdateExpression: `SET stripeInvoiceId = :id${provider.hostedInvoiceUrl ? ', hostedInvoiceUrl = :url' : ''}`,
      ExpressionAttributeValues: { ':id': provider.id, ...(provider.hostedInvoiceUrl ? { ':url': provider.hostedInvoiceUrl } : {}) },
      ReturnValues: 'ALL_NEW',
    });
    return toInvoice(r.Attributes!);
  }

  async markAnnounced(invoice: Invoice, at: string): Promise<void> {
    await this.db.update({
      TableName: this.table,
      Key: keyOf(invoice),
      UpdateExpression: 'SET announcedAt = :at',
      ExpressionAttributeValues: { ':at': at },
    });
  }

  async listQuotas(tenantId: string): Promise<Quota[]> {
    const items = await queryAll(this.db, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :quota)',
      ExpressionAttributeValues: { ':pk': tenantPk(tenantId), ':quota': 'QUOTA#' },
      ConsistentRead: true,
    });
    return items.map((item) => strip(item) as Quota);
  }

  async putQuota(tenantId: string, quota: Quota): Promise<void> {
    await this.db.put({ TableName: this.table, Item: { ...quotaKey(tenantId, quota.meter), ...quota } });
  }

  /** False when there was no such quota. */
  async deleteQuota(tenantId: string, meter: string): Promise<boolean> {
    const r = await this.db.delete({ TableName: this.table, Key: quotaKey(tenantId, meter), ReturnValues: 'ALL_OLD' });
    return r.Attributes !== undefined;
  }

  /** Every billing pause in force (one small partition: the jobs read it once per run). */
  async listPauses(): Promise<BillingPause[]> {
    const items = await queryAll(this.db, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': pauseKey('').pk },
      ConsistentRead: true,
    });
    return items.map((item) => strip(item) as BillingPause);
  }

  /** False when that scope was already paused (the first pause and its reason stand). */
  async pause(pause: BillingPause): Promise<boolean> {
    try {
      await this.db.put({
        TableName: this.table,
        Item: { ...pauseKey(pause.scope), ...pause },
        ConditionExpression: 'attribute_not_exists(pk)',
      });
      return true;
    } catch (error) {
      if (errorName(error) === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  /** The pause lifted, or undefined when that scope was not paused. */
  async resume(scope: string): Promise<BillingPause | undefined> {
    const r = await this.db.delete({ TableName: this.table, Key: pauseKey(scope), ReturnValues: 'ALL_OLD' });
    return r.Attributes ? (strip(r.Attributes) as BillingPause) : undefined;
  }

  async getSeller(): Promise<Seller | undefined> {
    const r = await this.db.get({ TableName: this.table, Key: sellerKey });
    return r.Item ? (strip(r.Item) as Seller) : undefined;
  }

  async putSeller(seller: Seller): Promise<void> {
    await this.db.put({ TableName: this.table, Item: { ...sellerKey, ...seller } });
  }

  /** The tenant's billing details as its invoices show them. */
  async getCustomer(tenantId: string): Promise<Party | undefined> {
    const r = await this.db.get({ TableName: this.table, Key: customerKey(tenantId) });
    return r.Item ? (strip(r.Item) as Party) : undefined;
  }

  async putCustomer(tenantId: string, customer: Party): Promise<void> {
    await this.db.put({ TableName: this.table, Item: { ...customerKey(tenantId), ...customer } });
  }

  /** The numbering counter moves from `last` to `last + count` only if no other writer moved it first: numbers stay gap-free. */
  private claimNumbers(year: number, last: number, count: number) {
    return {
      Update: {
        TableName: this.table,
        Key: counterKey(year),
        UpdateExpression: 'SET #last = :next',
        ConditionExpression: last === 0 ? 'attribute_not_exists(pk)' : '#last = :last',
        ExpressionAttributeNames: { '#last': 'last' },
        ExpressionAttributeValues: { ':next': last + count, ...(last === 0 ? {} : { ':last': last }) },
      },
    };
  }

  /** The tenant's credit grants and its whole ledger (one partition, read consistently). */
  async credits(tenantId: string): Promise<{ grants: CreditGrant[]; entries: LedgerEntry[] }> {
    const items = await queryAll(this.db, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :credit)',
      ExpressionAttributeValues: { ':pk': tenantPk(tenantId), ':credit': 'CREDIT-' },
      ConsistentRead: true,
    });
    const of = (prefix: string) => items.filter((i) => String(i.sk).startsWith(prefix)).map(strip);
    const entries = (of('CREDIT-ENTRY#') as LedgerEntry[]).sort((a, b) => a.at.localeCompare(b.at) || a.id.localeCompare(b.id));
    return { grants: of('CREDIT-GRANT#') as CreditGrant[], entries };
  }

  /** A new grant and its first entry, together; false when that id exists. */
  async putCreditGrant(grant: CreditGrant, entry: LedgerEntry): Promise<boolean> {
    try {
      await this.db.transactWrite({
        TransactItems: [
          {
            Put: {
              TableName: this.table,
              Item: { ...grantKey(grant.tenantId, grant.id), ...grant },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
          {
            Put: {
              TableName: this.table,
              Item: { ...entryKey(entry.tenantId, entry.id), ...entry },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
        ],
      });
      return true;
    } catch (error) {
      if (cancellationReasons(error)?.some((r) => r.Code === 'ConditionalCheckFailed')) return false;
      throw error;
    }
  }

  /**
   * Appends entries to the ledger. Ids are deterministic, so an entry already there is the same entry:
   * it is left as it is, and writing a run's entries again (after a crash) writes each once.
   */
  async appendCreditEntries(entries: readonly LedgerEntry[]): Promise<void> {
    for (const entry of entries) {
      try {
        await this.db.put({
          TableName: this.table,
          Item: { ...entryKey(entry.tenantId, entry.id), ...entry },
          ConditionExpression: 'attribute_not_exists(pk)',
        });
      } catch (error) {
        if (errorName(error) !== 'ConditionalCheckFailedException') throw error;
      }
    }
  }

  private async lastNumber(year: number): Promise<number> {
    const r = await this.db.get({ TableName: this.table, Key: counterKey(year), ConsistentRead: true });
    return Number(r.Item?.last ?? 0);
  }
}

function strip(item: Record<string, any>): Record<string, any> {
  const { pk: _pk, sk: _sk, gsi1pk: _g1, gsi1sk: _g2, ...rest } = item;
  return rest;
}

const toPlan = (item: Record<string, any>) => strip(item) as Plan;
const toInvoice = (item: Record<string, any>) => strip(item) as Invoice;
