import type { Documents } from '../../platform/dynamo/documents.js';

/** Where a tenant's invoices sit in the billing table: under the tenant's key, one item per period. */
export const tenantPk = (tenantId: string) => `TENANT#${tenantId}`;
export const INVOICE_PREFIX = 'INVOICE#';
export const invoiceKey = (tenantId: string, periodStart: string) => ({ pk: tenantPk(tenantId), sk: `${INVOICE_PREFIX}${periodStart}` });

/**
 * Whether the tenant has ever been invoiced: one consistent, key-only read. It stands apart from the billing
 * store so that ingest, which asks it on an admin's first import, loads none of billing's domain.
 */
export function invoicedCheck(db: Documents, table: string) {
  return async (tenantId: string): Promise<boolean> => {
    const r = await db.query({
      TableName: table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': tenantPk(tenantId), ':prefix': INVOICE_PREFIX },
      ProjectionExpression: 'pk',
      Limit: 1,
      ConsistentRead: true,
    });
    return (r.Items ?? []).length > 0;
  };
}
