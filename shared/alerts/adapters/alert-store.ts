import type { Documents } from '../../platform/dynamo/documents.js';
import { queryAll } from '../../platform/dynamo/query.js';
import type { AlertStore } from '../ports.js';
import type { Alert, AlertFiring } from '../rules.js';

const tenantPk = (tenantId: string) => `TENANT#${tenantId}`;
const firingSk = (period: string, alertId: string) => `FIRED#${period}#${alertId}`;

/** Alert rules and their firings, beside the tenant's other configuration in the tenants table. */
export class DynamoAlertStore implements AlertStore {
  constructor(
    private readonly db: Documents,
    private readonly table: string,
  ) {}

  async putAlert(alert: Alert): Promise<void> {
    await this.db.put({ TableName: this.table, Item: { pk: tenantPk(alert.tenantId), sk: `ALERT#${alert.id}`, ...alert } });
  }

  /** Writes the rule unless one with its id exists (a tenant's edit of a default rule wins); false when it existed. */
  async createAlert(alert: Alert): Promise<boolean> {
    try {
      await this.db.put({
        TableName: this.table,
        Item: { pk: tenantPk(alert.tenantId), sk: `ALERT#${alert.id}`, ...alert },
        ConditionExpression: 'attribute_not_exists(pk)',
      });
      return true;
    } catch (error) {
      if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  async listAlerts(tenantId: string): Promise<Alert[]> {
    // Rules stored before rules had kinds are quantity rules.
    return (await this.query(tenantId, 'ALERT#')).map(({ pk: _pk, sk: _sk, ...alert }) => ({ kind: 'quantity', ...alert }) as Alert);
  }

  /** False when the tenant has no such alert. */
  async deleteAlert(tenantId: string, alertId: string): Promise<boolean> {
    const r = await this.db.delete({
      TableName: this.table,
      Key: { pk: tenantPk(tenantId), sk: `ALERT#${alertId}` },
      ReturnValues: 'ALL_OLD',
    });
    return r.Attributes !== undefined;
  }

  /** The firings of one period (its start, ISO 8601), by alert id; or of every period when `period` is absent. */
  async firings(tenantId: string, period?: string): Promise<AlertFiring[]> {
    const items = await this.query(tenantId, period ? `FIRED#${period}#` : 'FIRED#');
    return items.map(({ pk: _pk, sk: _sk, ...firing }) => firing as AlertFiring);
  }

  /** Records a firing once per alert and period; false when it was already recorded. */
  async recordFiring(tenantId: string, firing: AlertFiring): Promise<boolean> {
    try {
      await this.db.put({
        TableName: this.table,
        Item: { pk: tenantPk(tenantId), sk: firingSk(firing.period, firing.alertId), ...firing },
        ConditionExpression: 'attribute_not_exists(pk)',
      });
      return true;
    } catch (error) {
      if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  async markNotified(tenantId: string, firing: AlertFiring, at: string): Promise<void> {
    await this.db.update({
      TableName: this.table,
      Key: { pk: tenantPk(tenantId), sk: firingSk(firing.period, firing.alertId) },
      UpdateExpression: 'SET notifiedAt = :at',
      ExpressionAttributeValues: { ':at': at },
    });
  }

  private query(tenantId: string, prefix: string): Promise<Record<string, any>[]> {
    return queryAll(this.db, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': tenantPk(tenantId), ':prefix': prefix },
      ConsistentRead: true,
    });
  }
}
