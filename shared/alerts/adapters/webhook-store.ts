import * as z from '../../kernel/zod-mini.js';
import { cursorCodec, keyString } from '../../platform/dynamo/cursor.js';
import type { Documents } from '../../platform/dynamo/documents.js';
import { errorName } from '../../platform/dynamo/errors.js';
import { queryAll } from '../../platform/dynamo/query.js';
import type { WebhookStore } from '../ports.js';
import type { Delivery, DeliveryAttempt, WebhookEndpoint } from '../webhooks.js';

const tenantPk = (tenantId: string) => `TENANT#${tenantId}`;
const endpointKey = (tenantId: string, id: string) => ({ pk: tenantPk(tenantId), sk: `ENDPOINT#${id}` });
const deliveryKey = (tenantId: string, id: string) => ({ pk: tenantPk(tenantId), sk: `DELIVERY#${id}` });

/** How long the delivery log keeps a delivery. */
export const DELIVERY_RETENTION_DAYS = 30;

/**
 * Webhook endpoints and the delivery log, in the `webhooks` table. A delivery's key is its id (derived
 * from the event and the endpoint), so writing it conditionally makes it exist once; the index lists an
 * endpoint's deliveries newest first. Deliveries expire after 30 days (TTL).
 */
export class DynamoWebhookStore implements WebhookStore {
  constructor(
    private readonly db: Documents,
    private readonly table: string,
  ) {}

  async putEndpoint(endpoint: WebhookEndpoint): Promise<void> {
    await this.db.put({ TableName: this.table, Item: { ...endpointKey(endpoint.tenantId, endpoint.id), ...endpoint } });
  }

  async getEndpoint(tenantId: string, id: string): Promise<WebhookEndpoint | undefined> {
    const r = await this.db.get({ TableName: this.table, Key: endpointKey(tenantId, id), ConsistentRead: true });
    return r.Item ? (strip(r.Item) as WebhookEndpoint) : undefined;
  }

  async listEndpoints(tenantId: string): Promise<WebhookEndpoint[]> {
    const items = await queryAll(this.db, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': tenantPk(tenantId), ':prefix': 'ENDPOINT#' },
      ConsistentRead: true,
    });
    return items.map((item) => strip(item) as WebhookEndpoint);
  }

  /** False when there was no such endpoint. */
  async deleteEndpoint(tenantId: string, id: string): Promise<boolean> {
    const r = await this.db.delete({ TableName: this.table, Key: endpointKey(tenantId, id), ReturnValues: 'ALL_OLD' });
    return r.Attributes !== undefined;
  }

  async createDelivery(delivery: Delivery): Promise<Delivery> {
    try {
      await this.db.put({
        TableName: this.table,
        Item: {
          ...deliveryKey(delivery.tenantId, delivery.id),
          gsi1pk: `ENDPOINT#${delivery.tenantId}#${delivery.endpointId}`,
          gsi1sk: `${delivery.createdAt}#${delivery.id}`,
          expiresAt: Math.floor(Date.parse(delivery.createdAt) / 1000) + DELIVERY_RETENTION_DAYS * 86_400,
          ...delivery,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      });
      return delivery;
    } catch (error) {
      if (errorName(error) !== 'ConditionalCheckFailedException') throw error;
      return (await this.getDelivery(delivery.tenantId, delivery.id))!;
    }
  }

  async getDelivery(tenantId: string, id: string): Promise<Delivery | undefined> {
    const r = await this.db.get({ TableName: this.table, Key: deliveryKey(tenantId, id), ConsistentRead: true });
    return r.Item ? toDelivery(r.Item) : undefined;
  }

  /** An endpoint's deliveries, newest first, a page at a time. */
  async listDeliveries(
    tenantId: string,
    endpointId: string,
    limit: number,
    cursor?: string,
  ): Promise<{ deliveries: Delivery[]; cursor?: string }> {
    const gsi1pk = `ENDPOINT#${tenantId}#${endpointId}`;
    const cursors = cursorCodec(`deliveries#${gsi1pk}`, deliveryPosition);
    const start = cursor === undefined ? undefined : await cursors.decode(cursor);
    const r = await this.db.query({
      TableName: this.table,
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: { ':pk': gsi1pk },
      ScanIndexForward: false,
      Limit: limit,
      ...(start ? { ExclusiveStartKey: start } : {}),
    });
    const next = r.LastEvaluatedKey ? await cursors.encode(r.LastEvaluatedKey as z.infer<typeof deliveryPosition>) : undefined;
    return { deliveries: (r.Items ?? []).map(toDelivery), ...(next ? { cursor: next } : {}) };
  }

  async recordAttempt(
    tenantId: string,
    id: string,
    attempt: DeliveryAttempt,
    outcome: { status: Delivery['status']; nextAttemptAt?: string },
  ): Promise<void> {
    const set = ['attempts = list_append(attempts, :a)', '#status = :s'];
    const values: Record<string, unknown> = { ':a': [attempt], ':s': outcome.status };
    if (outcome.nextAttemptAt) set.push('nextAttemptAt = :n'), (values[':n'] = outcome.nextAttemptAt);
    if (outcome.status === 'delivered') set.push('deliveredAt = :d'), (values[':d'] = attempt.at);
    await this.db.update({
      TableName: this.table,
      Key: deliveryKey(tenantId, id),
      UpdateExpression: `SET ${set.join(', ')}${outcome.nextAttemptAt ? '' : ' REMOVE nextAttemptAt'}`,
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: values,
    });
  }

  /** Makes a delivery pending again (a tenant's replay); undefined when it does not exist. */
  async reopenDelivery(tenantId: string, id: string): Promise<Delivery | undefined> {
    try {
      const r = await this.db.update({
        TableName: this.table,
        Key: deliveryKey(tenantId, id),
        UpdateExpression: 'SET #status = :pending REMOVE nextAttemptAt',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':pending': 'pending' },
        ReturnValues: 'ALL_NEW',
      });
      return toDelivery(r.Attributes!);
    } catch (error) {
      if (errorName(error) === 'ConditionalCheckFailedException') return undefined;
      throw error;
    }
  }
}

function strip(item: Record<string, any>): Record<string, any> {
  const { pk: _pk, sk: _sk, gsi1pk: _g1, gsi1sk: _g2, expiresAt: _e, ...rest } = item;
  return rest;
}

const toDelivery = (item: Record<string, any>) => strip(item) as Delivery;

/** A page position of an endpoint's deliveries (gsi1): its start key. */
const deliveryPosition = z.strictObject({ pk: keyString, sk: keyString, gsi1pk: keyString, gsi1sk: keyString });
