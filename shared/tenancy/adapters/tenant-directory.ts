import type { QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { Meter } from '../../metering/meters.js';
import type { Documents } from '../../platform/dynamo/documents.js';
import { errorName } from '../../platform/dynamo/errors.js';
import { queryAll, queryPages } from '../../platform/dynamo/query.js';
import { type ApiKeyRecord, type ApiKeySummary, type KeyOwner, ownerOf } from '../api-keys.js';
import type { SessionStore, TenantDirectory } from '../ports.js';
import type { DashboardSession } from '../sessions.js';
import type { Tenant } from '../tenants.js';

const tenantPk = (id: string) => `TENANT#${id}`;
const keyPk = (keyId: string) => `APIKEY#${keyId}`;
const sessionKey = (sessionId: string) => ({ pk: `SESSION#${sessionId}`, sk: 'SESSION' });
const keysOf = (owner: KeyOwner) =>
  'tenantId' in owner ? `${tenantPk(owner.tenantId)}#APIKEYS` : 'service' in owner ? 'SERVICE#APIKEYS' : 'ADMIN#APIKEYS';

/**
 * Tenants, meters, API keys and dashboard sessions in one table. A key is found by its id alone (the authorizer's one read);
 * the `gsi1` index lists a tenant's keys and all tenants for the admin API.
 */
export class DynamoTenantDirectory implements TenantDirectory, SessionStore {
  constructor(
    private readonly db: Documents,
    private readonly table: string,
  ) {}

  /** Returns false when a tenant with this id already exists. */
  async createTenant(tenant: Tenant): Promise<boolean> {
    try {
      await this.db.put({
        TableName: this.table,
        Item: { pk: tenantPk(tenant.id), sk: 'PROFILE', gsi1pk: 'TENANTS', gsi1sk: tenant.id, ...tenant },
        ConditionExpression: 'attribute_not_exists(pk)',
      });
      return true;
    } catch (error) {
      if (errorName(error) === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  async getTenant(id: string): Promise<Tenant | undefined> {
    const r = await this.db.get({ TableName: this.table, Key: { pk: tenantPk(id), sk: 'PROFILE' } });
    return r.Item ? toTenant(r.Item) : undefined;
  }

  async listTenants(): Promise<Tenant[]> {
    const items = await this.queryAll({
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: { ':pk': 'TENANTS' },
    });
    return items.map(toTenant);
  }

  async *tenantPages(): AsyncIterable<Tenant[]> {
    const pages = queryPages(this.db, {
      TableName: this.table,
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: { ':pk': 'TENANTS' },
    });
    for await (const items of pages) yield items.map(toTenant);
  }

  async putMeter(tenantId: string, meter: Meter): Promise<void> {
    await this.db.put({ TableName: this.table, Item: { pk: tenantPk(tenantId), sk: `METER#${meter.key}`, ...meter } });
  }

  async listMeters(tenantId: string): Promise<Meter[]> {
    const items = await this.queryAll({
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :meter)',
      ExpressionAttributeValues: { ':pk': tenantPk(tenantId), ':meter': 'METER#' },
    });
    return items.map(({ key, name, unit, aggregation, valueProperty, groupBy, per }) => ({
      key,
      name,
      unit,
      aggregation,
      groupBy: groupBy ?? [],
      ...(valueProperty ? { valueProperty } : {}),
      ...(per ? { per } : {}),
    })) as Meter[];
  }

  async putApiKey(record: ApiKeyRecord): Promise<void> {
    const owner = ownerOf(record);
    await this.db.put({
      TableName: this.table,
      Item: { pk: keyPk(record.keyId), sk: 'APIKEY', gsi1pk: keysOf(owner), gsi1sk: record.createdAt, ...record },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
  }

  async getApiKey(keyId: string): Promise<ApiKeyRecord | undefined> {
    const r = await this.db.get({ TableName: this.table, Key: { pk: keyPk(keyId), sk: 'APIKEY' } });
    if (!r.Item) return undefined;
    const { pk: _pk, sk: _sk, gsi1pk: _g1, gsi1sk: _g2, ...record } = r.Item;
    return record as ApiKeyRecord;
  }

  async listApiKeys(owner: KeyOwner): Promise<ApiKeySummary[]> {
    const items = await this.queryAll({
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: { ':pk': keysOf(owner) },
    });
    return items.map(({ keyId, role, tenantId: t, scope, tenants, name, createdAt, revokedAt }) => ({
      keyId,
      role,
      tenantId: t,
      ...(scope ? { scope } : {}),
      ...(tenants ? { tenants } : {}),
      name,
      createdAt,
      ...(revokedAt ? { revokedAt } : {}),
    })) as ApiKeySummary[];
  }

  /** Revokes one of `owner`'s keys; false when it has no such key. Revoking twice keeps the first time. */
  async revokeApiKey(owner: KeyOwner, keyId: string, at: string): Promise<boolean> {
    try {
      await this.db.update({
        TableName: this.table,
        Key: { pk: keyPk(keyId), sk: 'APIKEY' },
        UpdateExpression: 'SET revokedAt = if_not_exists(revokedAt, :at)',
        ConditionExpression: 'gsi1pk = :owner',
        ExpressionAttributeValues: { ':at': at, ':owner': keysOf(owner) },
      });
      return true;
    } catch (error) {
      if (errorName(error) === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  async putSession(session: DashboardSession): Promise<void> {
    await this.db.put({
      TableName: this.table,
      // expiresAt as the table's TTL attribute: DynamoDB deletes the session after it expires.
      Item: { ...sessionKey(session.sessionId), ...session, expiresAt: Math.ceil(Date.parse(session.expiresAt) / 1000) },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
  }

  async getSession(sessionId: string): Promise<DashboardSession | undefined> {
    const r = await this.db.get({ TableName: this.table, Key: sessionKey(sessionId) });
    if (!r.Item) return undefined;
    const { pk: _pk, sk: _sk, expiresAt, ...session } = r.Item;
    return { ...session, expiresAt: new Date(expiresAt * 1000).toISOString() } as DashboardSession;
  }

  /** Revoking twice keeps the first time; `tenantId` limits it to that tenant's sessions. */
  async revokeSession(sessionId: string, at: string, tenantId?: string): Promise<boolean> {
    try {
      await this.db.update({
        TableName: this.table,
        Key: sessionKey(sessionId),
        UpdateExpression: 'SET revokedAt = if_not_exists(revokedAt, :at)',
        ConditionExpression: tenantId ? 'tenantId = :tenant' : 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':at': at, ...(tenantId ? { ':tenant': tenantId } : {}) },
      });
      return true;
    } catch (error) {
      if (errorName(error) === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  private queryAll(input: Omit<QueryCommandInput, 'TableName'>): Promise<Record<string, any>[]> {
    return queryAll(this.db, { TableName: this.table, ...input });
  }
}

function toTenant(item: Record<string, any>): Tenant {
  return { id: item.id, name: item.name, createdAt: item.createdAt };
}
