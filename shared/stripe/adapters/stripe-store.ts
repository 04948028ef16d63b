import { periodKeyStart } from '../../kernel/periods.js';
import type { Documents } from '../../platform/dynamo/documents.js';
import { errorName } from '../../platform/dynamo/errors.js';
import { queryAll } from '../../platform/dynamo/query.js';
import type { PendingEvent, ReportRecord, TenantReport } from '../meter-reporting.js';
import { type BillingIssue, type InvoiceState, invoiceProgress, type Mirrored, type SubscriptionState } from '../mirror.js';
import type { MirrorStore, ReportStore } from '../ports.js';
import type { SubscriptionLink } from '../products.js';
import type { SliceResult } from '../usage-report.js';

const DAY_S = 86_400;
const tenantPk = (tenantId: string) => `TENANT#${tenantId}`;
const reportSk = (meter: string, day: string) => `REPORT#${meter}#${day}`;
const reportRunPk = (runId: string) => `REPORT_RUN#${runId}`;
const sliceSk = (slice: number) => `SLICE#${String(slice).padStart(8, '0')}`;
const isConditionFailure = (error: unknown) => errorName(error) === 'ConditionalCheckFailedException';

/** Report records outlive Stripe's 35-day window and the job's lookback, then expire. */
const REPORT_RETENTION_DAYS = 60;
const RUN_RETENTION_DAYS = 90;
/** Stripe retries a webhook for up to three days; ids are kept well beyond. */
const EVENT_RETENTION_DAYS = 30;

/**
 * Everything the Stripe context keeps, in the `stripe` table: per tenant (`TENANT#<id>`) the customer, the
 * link to its Stripe subscription (`STRIPE_SUBSCRIPTION`), the report record of each meter × day,
 * report runs, mirrored subscriptions and invoices and billing issues; the reverse customer → tenant mapping
 * (`CUSTOMER#<id>`); webhook event ids (`EVENT#<id>`); each report run's slice results (`REPORT_RUN#<run>/SLICE#<n>`).
 */
export class DynamoStripeStore implements ReportStore, MirrorStore {
  constructor(
    private readonly db: Documents,
    private readonly table: string,
    private readonly now: () => number = Date.now,
  ) {}

  async customerOf(tenantId: string): Promise<string | undefined> {
    const r = await this.db.get({ TableName: this.table, Key: { pk: tenantPk(tenantId), sk: 'CUSTOMER' } });
    return r.Item?.customerId as string | undefined;
  }

  async tenantOfCustomer(customerId: string): Promise<string | undefined> {
    const r = await this.db.get({ TableName: this.table, Key: { pk: `CUSTOMER#${customerId}`, sk: 'TENANT' } });
    return r.Item?.tenantId as string | undefined;
  }

  async saveCustomer(tenantId: string, customerId: string): Promise<void> {
    await this.db.transactWrite({
      TransactItems: [
        { Put: { TableName: this.table, Item: { pk: tenantPk(tenantId), sk: 'CUSTOMER', customerId } } },
        { Put: { TableName: this.table, Item: { pk: `CUSTOMER#${customerId}`, sk: 'TENANT', tenantId } } },
      ],
    });
  }

  async subscriptionLink(tenantId: string): Promise<SubscriptionLink | undefined> {
    const r = await this.db.get({
      TableName: this.table,
      Key: { pk: tenantPk(tenantId), sk: 'STRIPE_SUBSCRIPTION' },
      ConsistentRead: true,
    });
    if (!r.Item) return undefined;
    const { pk: _pk, sk: _sk, ...link } = r.Item;
    return link as SubscriptionLink;
  }

  async saveSubscriptionLink(tenantId: string, link: SubscriptionLink): Promise<boolean> {
    try {
      await this.db.put({
        TableName: this.table,
        Item: { pk: tenantPk(tenantId), sk: 'STRIPE_SUBSCRIPTION', ...link },
        ConditionExpression: link.version === 0 ? 'attribute_not_exists(pk)' : 'version = :previous',
        ...(link.version === 0 ? {} : { ExpressionAttributeValues: { ':previous': link.version - 1 } }),
      });
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async reportRecords(tenantId: string, fromDay: string): Promise<Map<string, Map<string, ReportRecord>>> {
    const items = await queryAll(this.db, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': tenantPk(tenantId), ':prefix': 'REPORT#' },
    });
    const byMeter = new Map<string, Map<string, ReportRecord>>();
    for (const item of items) {
      if (item.day < fromDay) continue;
      const records = byMeter.get(item.meter) ?? new Map<string, ReportRecord>();
      byMeter.set(item.meter, records);
      records.set(item.day, {
        day: item.day,
        ...(item.sequence !== undefined ? { reported: { value: String(item.reported), sequence: Number(item.sequence) } } : {}),
        ...(item.pending ? { pending: item.pending as PendingEvent } : {}),
        ...(item.flagged !== undefined ? { flagged: String(item.flagged) } : {}),
      });
    }
    return byMeter;
  }

  async putPending(
    tenantId: string,
    meter: string,
    day: string,
    event: PendingEvent,
    previousSequence: number | undefined,
  ): Promise<boolean> {
    try {
      await this.db.update({
        TableName: this.table,
        Key: { pk: tenantPk(tenantId), sk: reportSk(meter, day) },
        UpdateExpression: 'SET pending = :pending, meter = :meter, #day = :day, expiresAt = :expiresAt',
        ConditionExpression:
          previousSequence === undefined
            ? 'attribute_not_exists(#seq) AND attribute_not_exists(pending)'
            : '#seq = :previous AND attribute_not_exists(pending)',
        ExpressionAttributeNames: { '#day': 'day', '#seq': 'sequence' },
        ExpressionAttributeValues: {
          ':pending': event,
          ':meter': meter,
          ':day': day,
          ':expiresAt': periodKeyStart('day', day) / 1000 + REPORT_RETENTION_DAYS * DAY_S,
          ...(previousSequence === undefined ? {} : { ':previous': previousSequence }),
        },
      });
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async commitPending(tenantId: string, meter: string, day: string, event: PendingEvent): Promise<void> {
    await this.db.update({
      TableName: this.table,
      Key: { pk: tenantPk(tenantId), sk: reportSk(meter, day) },
      UpdateExpression: 'SET reported = :reported, #seq = :seq, lastIdentifier = :id REMOVE pending',
      ConditionExpression: 'pending.identifier = :id',
      ExpressionAttributeNames: { '#seq': 'sequence' },
      ExpressionAttributeValues: { ':reported': event.after.value, ':seq': event.after.sequence, ':id': event.identifier },
    });
  }

  async flag(tenantId: string, meter: string, day: string, target: string): Promise<void> {
    await this.db.update({
      TableName: this.table,
      Key: { pk: tenantPk(tenantId), sk: reportSk(meter, day) },
      UpdateExpression: 'SET flagged = :target, meter = :meter, #day = :day, expiresAt = :expiresAt',
      ExpressionAttributeNames: { '#day': 'day' },
      ExpressionAttributeValues: {
        ':target': target,
        ':meter': meter,
        ':day': day,
        ':expiresAt': periodKeyStart('day', day) / 1000 + REPORT_RETENTION_DAYS * DAY_S,
      },
    });
  }

  async recordRun(report: TenantReport): Promise<void> {
    await this.db.put({
      TableName: this.table,
      Item: { pk: tenantPk(report.tenantId), sk: `RUN#${report.runAt}`, ...report, expiresAt: this.expiry(RUN_RETENTION_DAYS) },
    });
  }

  async recordSlice(result: SliceResult): Promise<void> {
    await this.db.put({
      TableName: this.table,
      Item: { pk: reportRunPk(result.runId), sk: sliceSk(result.slice), ...result, expiresAt: this.expiry(RUN_RETENTION_DAYS) },
    });
  }

  /** The results recorded so far of a report run's slices, in slice order. */
  async sliceResults(runId: string): Promise<SliceResult[]> {
    const items = await queryAll(this.db, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': reportRunPk(runId), ':prefix': 'SLICE#' },
      ConsistentRead: true,
    });
    return items.map(({ pk: _pk, sk: _sk, expiresAt: _e, ...result }) => result as SliceResult);
  }

  async runs(tenantId: string): Promise<TenantReport[]> {
    const items = await queryAll(this.db, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': tenantPk(tenantId), ':prefix': 'RUN#' },
    });
    return items.map(({ tenantId: id, runAt, sent, skipped, errors }) => ({ tenantId: id, runAt, sent, skipped, errors }));
  }

  /** True when this webhook event was handled before. */
  async seenEvent(eventId: string): Promise<boolean> {
    const r = await this.db.get({ TableName: this.table, Key: { pk: `EVENT#${eventId}`, sk: 'EVENT' }, ConsistentRead: true });
    return r.Item !== undefined;
  }

  async markEventHandled(eventId: string, type: string): Promise<void> {
    await this.db.put({
      TableName: this.table,
      Item: {
        pk: `EVENT#${eventId}`,
        sk: 'EVENT',
        type,
        handledAt: new Date(this.now()).toISOString(),
        expiresAt: this.expiry(EVENT_RETENTION_DAYS),
      },
    });
  }

  subscription(tenantId: string, id: string): Promise<Mirrored<SubscriptionState> | undefined> {
    return this.mirror(tenantId, `SUBSCRIPTION#${id}`);
  }

  invoice(tenantId: string, id: string): Promise<Mirrored<InvoiceState> | undefined> {
    return this.mirror(tenantId, `INVOICE#${id}`);
  }

  /** The mirrored invoice of the tenant's period starting at `periodStart` (seconds), if Stripe has told about one. */
  async invoiceOfPeriod(tenantId: string, periodStart: number): Promise<InvoiceState | undefined> {
    const items = await queryAll(this.db, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': tenantPk(tenantId), ':prefix': 'INVOICE#' },
      ConsistentRead: true,
    });
    return items.map((item) => item.state as InvoiceState).find((state) => state.periodStart === periodStart);
  }

  /** Stores the mirror unless a newer event's state is already there; false when it was. */
  putSubscription(tenantId: string, mirrored: Mirrored<SubscriptionState>): Promise<boolean> {
    return this.putMirror(tenantId, `SUBSCRIPTION#${mirrored.state.id}`, mirrored, 0);
  }

  /** Same second as the stored event: only a state further along replaces it (concurrent deliveries included). */
  putInvoice(tenantId: string, mirrored: Mirrored<InvoiceState>): Promise<boolean> {
    return this.putMirror(tenantId, `INVOICE#${mirrored.state.id}`, mirrored, invoiceProgress(mirrored.state.status));
  }

  /** Idempotent: an issue's id names what it is about, so raising it again overwrites it. */
  async raiseIssue(issue: BillingIssue): Promise<void> {
    await this.db.put({
      TableName: this.table,
      Item: { pk: issue.tenantId ? tenantPk(issue.tenantId) : 'ISSUES', sk: `ISSUE#${issue.id}`, ...issue },
    });
  }

  async issues(tenantId?: string): Promise<BillingIssue[]> {
    const items = await queryAll(this.db, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': tenantId ? tenantPk(tenantId) : 'ISSUES', ':prefix': 'ISSUE#' },
    });
    return items.map(({ pk: _pk, sk: _sk, ...issue }) => issue as BillingIssue);
  }

  private async mirror<T>(tenantId: string, sk: string): Promise<Mirrored<T> | undefined> {
    const r = await this.db.get({ TableName: this.table, Key: { pk: tenantPk(tenantId), sk }, ConsistentRead: true });
    return r.Item ? { state: r.Item.state as T, eventId: String(r.Item.eventId), eventCreated: Number(r.Item.eventCreated) } : undefined;
  }

  private async putMirror(tenantId: string, sk: string, mirrored: Mirrored<unknown>, progress: number): Promise<boolean> {
    try {
      await this.db.put({
        TableName: this.table,
        Item: { pk: tenantPk(tenantId), sk, ...mirrored, progress },
        ConditionExpression:
          'attribute_not_exists(eventCreated) OR eventCreated < :created OR (eventCreated = :created AND (attribute_not_exists(progress) OR progress <= :progress))',
        ExpressionAttributeValues: { ':created': mirrored.eventCreated, ':progress': progress },
      });
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  private expiry(days: number): number {
    return Math.floor(this.now() / 1000) + days * DAY_S;
  }
}
