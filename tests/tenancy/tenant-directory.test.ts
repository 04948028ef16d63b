import { describe, expect, it } from 'vitest';
import { DynamoTenantDirectory } from '../../shared/tenancy/adapters/tenant-directory.js';
import { conditionFailed, fakeDocuments, throttled } from '../support/fake-documents.js';

/**
 * The tenant directory against DynamoDB's answers: a conditional write that lost answered as such (a tenant id
 * taken, a key or session not the owner's), throttling surfaced rather than taken for one, absent items absent,
 * listings followed over their pages.
 */
const isThrottling = expect.objectContaining({ name: 'ProvisionedThroughputExceededException' });

describe('tenant directory', () => {
  it('a tenant id taken answers false; throttling is surfaced, not taken for a taken id', async () => {
    const db = fakeDocuments({ put: (_, n) => Promise.reject(n === 0 ? conditionFailed() : throttled()) });
    const directory = new DynamoTenantDirectory(db, 'tenants');
    const tenant = { id: 'acme', name: 'Acme', createdAt: '2026-03-10T00:00:00.000Z' };
    expect(await directory.createTenant(tenant)).toBe(false);
    await expect(directory.createTenant(tenant)).rejects.toThrow(isThrottling);
  });

  it("revoking a key that is not the owner's answers false, while throttling is surfaced", async () => {
    const db = fakeDocuments({ update: (_, n) => Promise.reject(n === 0 ? conditionFailed() : throttled()) });
    const directory = new DynamoTenantDirectory(db, 'tenants');
    expect(await directory.revokeApiKey({ tenantId: 'acme' }, 'k1', '2026-03-10T00:00:00.000Z')).toBe(false);
    expect(db.inputs('update')[0].ExpressionAttributeValues[':owner']).toBe('TENANT#acme#APIKEYS');
    await expect(directory.revokeApiKey({ service: true }, 'k1', '2026-03-10T00:00:00.000Z')).rejects.toThrow(isThrottling);
    expect(db.inputs('update')[1].ExpressionAttributeValues[':owner']).toBe('SERVICE#APIKEYS');
  });

  it("revoking another tenant's session, or one that does not exist, answers false; throttling is surfaced", async () => {
    const db = fakeDocuments({ update: (_, n) => Promise.reject(n < 2 ? conditionFailed() : throttled()) });
    const directory = new DynamoTenantDirectory(db, 'tenants');
    expect(await directory.revokeSession('s1', '2026-03-10T00:00:00.000Z', 'acme')).toBe(false);
    expect(await directory.revokeSession('s1', '2026-03-10T00:00:00.000Z')).toBe(false);
    expect(db.inputs('update').map((u) => u.ConditionExpression)).toEqual(['tenantId = :tenant', 'attribute_exists(pk)']);
    await expect(directory.revokeSession('s1', '2026-03-10T00:00:00.000Z')).rejects.toThrow(isThrottling);
  });

  it('an unknown tenant, key or session is absent', async () => {
    const directory = new DynamoTenantDirectory(fakeDocuments({ get: () => ({}) }), 'tenants');
    expect(await directory.getTenant('acme')).toBeUndefined();
    expect(await directory.getApiKey('k1')).toBeUndefined();
    expect(await directory.getSession('s1')).toBeUndefined();
  });

  it('reads a session with its TTL as an instant, and lists admin keys with only the fields they have', async () => {
    const db = fakeDocuments({
      get: () => ({ Item: { pk: 'SESSION#s1', sk: 'SESSION', sessionId: 's1', expiresAt: 1_773_100_800 } }),
      query: () => ({ Items: [{ keyId: 'k1', role: 'admin', name: 'ops', createdAt: '2026-03-10T00:00:00.000Z', scope: 'read' }] }),
    });
    const directory = new DynamoTenantDirectory(db, 'tenants');
    expect(await directory.getSession('s1')).toEqual({ sessionId: 's1', expiresAt: '2026-03-10T00:00:00.000Z' });
    expect(await directory.listApiKeys({ admin: true })).toEqual([
      { keyId: 'k1', role: 'admin', tenantId: undefined, scope: 'read', name: 'ops', createdAt: '2026-03-10T00:00:00.000Z' },
    ]);
    expect(db.inputs('query')[0].ExpressionAttributeValues[':pk']).toBe('ADMIN#APIKEYS');
  });

  it('pages through every tenant, following LastEvaluatedKey', async () => {
    const db = fakeDocuments({
      query: (input) =>
        input.ExclusiveStartKey
          ? { Items: [{ id: 'b', name: 'B', createdAt: 'x' }] }
          : { Items: [{ id: 'a', name: 'A', createdAt: 'x' }], LastEvaluatedKey: { pk: 'TENANT#a' } },
    });
    const pages: string[][] = [];
    for await (const page of new DynamoTenantDirectory(db, 'tenants').tenantPages()) pages.push(page.map((t) => t.id));
    expect(pages).toEqual([['a'], ['b']]);
  });

  it('lists meters with their optional fields only where set, and no group-by as none', async () => {
    const db = fakeDocuments({
      query: () => ({
        Items: [
          { key: 'tokens', name: 'Tokens', unit: 'token', aggregation: 'SUM' },
          { key: 'seats', name: 'Seats', unit: 'user', aggregation: 'UNIQUE_COUNT', valueProperty: 'user_id', groupBy: ['team'], per: 'x' },
        ],
      }),
    });
    expect(await new DynamoTenantDirectory(db, 'tenants').listMeters('acme')).toEqual([
      { key: 'tokens', name: 'Tokens', unit: 'token', aggregation: 'SUM', groupBy: [] },
      { key: 'seats', name: 'Seats', unit: 'user', aggregation: 'UNIQUE_COUNT', groupBy: ['team'], valueProperty: 'user_id', per: 'x' },
    ]);
  });
});
