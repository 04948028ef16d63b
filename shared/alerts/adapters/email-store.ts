import type { Documents } from '../../platform/dynamo/documents.js';
import { errorName } from '../../platform/dynamo/errors.js';
import { queryAll } from '../../platform/dynamo/query.js';
import type { Email, EmailAttempt, EmailStatus, Recipient } from '../email.js';
import type { EmailStore } from '../ports.js';

const tenantPk = (tenantId: string) => `TENANT#${tenantId}`;
const recipientKey = (tenantId: string, address: string) => ({ pk: tenantPk(tenantId), sk: `RECIPIENT#${address}` });
const emailKey = (tenantId: string, id: string) => ({ pk: tenantPk(tenantId), sk: `EMAIL#${id}` });
const suppressionKey = (address: string) => ({ pk: `SUPPRESSED#${address}`, sk: 'SUPPRESSED' });

/** How long the email log keeps a message: as long as the webhook delivery log. */
const EMAIL_RETENTION_DAYS = 30;

const conditionFailed = (error: unknown) => errorName(error) === 'ConditionalCheckFailedException';

/**
 * Recipients, the email log and the suppression list, in the `webhooks` table beside the endpoints and their
 * deliveries. An email's key is its id (the idempotency key), so writing it conditionally makes it exist once;
 * the index lists a tenant's emails newest first. Suppressed addresses are not a tenant's: they have a
 * partition each, so a bounce found through one tenant's mail stops every tenant's mail to that address.
 */
export class DynamoEmailStore implements EmailStore {
  constructor(
    private readonly db: Documents,
    private readonly table: string,
  ) {}

  async listRecipients(tenantId: string): Promise<Recipient[]> {
    const items = await queryAll(this.db, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': tenantPk(tenantId), ':prefix': 'RECIPIENT#' },
      ConsistentRead: true,
    });
    return items.map((item) => strip(item) as Recipient);
  }

  async getRecipient(tenantId: string, address: string): Promise<Recipient | undefined> {
    const r = await this.db.get({ TableName: this.table, Key: recipientKey(tenantId, address), ConsistentRead: true });
    return r.Item ? (strip(r.Item) as Recipient) : undefined;
  }

  async putRecipient(recipient: Recipient): Promise<void> {
    await this.db.put({ TableName: this.table, Item: { ...recipientKey(recipient.tenantId, recipient.address), ...recipient } });
  }

  async deleteRecipient(tenantId: string, address: string): Promise<boolean> {
    const r = await this.db.delete({ TableName: this.table, Key: recipientKey(tenantId, address), ReturnValues: 'ALL_OLD' });
    return r.Attributes !== undefined;
  }

  async createEmail(email: Email): Promise<Email> {
    try {
      await this.db.put({
        TableName: this.table,
        Item: {
          ...emailKey(email.tenantId, email.id),
          gsi1pk: `EMAILS#${email.tenantId}`,
          gsi1sk: `${email.createdAt}#${email.id}`,
          expiresAt: Math.floor(Date.parse(email.createdAt) / 1000) + EMAIL_RETENTION_DAYS * 86_400,
          ...email,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      });
      return email;
    } catch (error) {
      if (!conditionFailed(error)) throw error;
      return (await this.getEmail(email.tenantId, email.id))!;
    }
  }

  async getEmail(tenantId: string, id: string): Promise<Email | undefined> {
    const r = await this.db.get({ TableName: this.table, Key: emailKey(tenantId, id), ConsistentRead: true });
    return r.Item ? (strip(r.Item) as Email) : undefined;
  }

  async listEmails(tenantId: string, limit: number): Promise<Email[]> {
    const r = await this.db.query({
      TableName: this.table,
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: { ':pk': `EMAILS#${tenantId}` },
      ScanIndexForward: false,
      Limit: limit,
    });
    return (r.Items ?? []).map((item) => strip(item) as Email);
  }

  async claimEmail(tenantId: string, id: string, now: number, leaseUntil: number): Promise<boolean> {
    try {
      await this.db.update({
        TableName: this.table,
        Key: emailKey(tenantId, id),
        UpdateExpression: 'SET leaseUntil = :until',
        ConditionExpression: '#status = :pending AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':pending': 'pending', ':now': now, ':until': leaseUntil },
      });
      return true;
    } catch (error) {
      if (conditionFailed(error)) return false;
      throw error;
    }
  }

  async recordEmailAttempt(
    tenantId: string,
    id: string,
    attempt: EmailAttempt,
    outcome: { status: EmailStatus; nextAttemptAt?: string },
  ): Promise<void> {
    const set = ['attempts = list_append(attempts, :a)', '#status = :s'];
    const values: Record<string, unknown> = { ':a': [attempt], ':s': outcome.status };
    if (outcome.nextAttemptAt) set.push('nextAttemptAt = :n'), (values[':n'] = outcome.nextAttemptAt);
    if (outcome.status === 'sent') set.push('sentAt = :d'), (values[':d'] = attempt.at);
    await this.db.update({
      TableName: this.table,
      Key: emailKey(tenantId, id),
      UpdateExpression: `SET ${set.join(', ')} REMOVE leaseUntil${outcome.nextAttemptAt ? '' : ', nextAttemptAt'}`,
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: values,
    });
  }

  async suppress(address: string, reason: string, at: string): Promise<void> {
    await this.db.put({ TableName: this.table, Item: { ...suppressionKey(address), address, reason, at } });
  }

  async suppressed(address: string): Promise<{ reason: string; at: string } | undefined> {
    const r = await this.db.get({ TableName: this.table, Key: suppressionKey(address), ConsistentRead: true });
    return r.Item ? { reason: r.Item.reason as string, at: r.Item.at as string } : undefined;
  }
}

function strip(item: Record<string, any>): Record<string, any> {
  const { pk: _pk, sk: _sk, gsi1pk: _g1, gsi1sk: _g2, expiresAt: _e, leaseUntil: _l, ...rest } = item;
  return rest;
}
