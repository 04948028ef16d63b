import { DeleteCommand, type DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { queryAll } from '../../platform/dynamo/query.js';
import type { AlertStore } from '../ports.js';
import type { Alert, AlertFiring } from '../rules.js';

const tenantPk = (tenantId: string) => `TENANT#${tenantId}`;

/** Alerts and their firings, beside the tenant's other configuration in the tenants table. */
export class DynamoAlertStore implements AlertStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async putAlert(alert: Alert): Promise<void> {
    await this.db.send(
      new PutCommand({ TableName: this.table, Item: { pk: tenantPk(alert.tenantId), sk: `ALERT#${alert.id}`, ...alert } }),
    );
  }

  async listAlerts(tenantId: string): Promise<Alert[]> {
    return (await this.query(tenantId, 'ALERT#')).map(({ id, meter, threshold, name, createdAt }) => ({
      id,
      tenantId,
      meter,
      threshold,
      createdAt,
      ...(name ? { name } : {}),
    }));
  }

  /** False when the tenant has no such alert. */
  async deleteAlert(tenantId: string, alertId: string): Promise<boolean> {
    const r = await this.db.send(
      new DeleteCommand({ TableName: this.table, Key: { pk: tenantPk(tenantId), sk: `ALERT#${alertId}` }, ReturnValues: 'ALL_OLD' }),
    );
    return r.Attributes !== undefined;
  }

  async firings(tenantId: string, period: string): Promise<Map<string, AlertFiring>> {
    const items = await this.query(tenantId, `FIRED#${period}#`);
    return new Map(
      items.map(({ alertId, value, firedAt, notifiedAt }) => [
        alertId,
        { alertId, period, value, firedAt, ...(notifiedAt ? { notifiedAt } : {}) },
      ]),
    );
  }

  /** Records a firing once per alert and period; false when it was already recorded. */
  async recordFiring(tenantId: string, firing: AlertFiring): Promise<boolean> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: tenantPk(tenantId), sk: `FIRED#${firing.period}#${firing.alertId}`, ...firing },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  async markNotified(tenantId: string, firing: AlertFiring, at: string): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: tenantPk(tenantId), sk: `FIRED#${firing.period}#${firing.alertId}` },
        UpdateExpression: 'SET notifiedAt = :at',
        ExpressionAttributeValues: { ':at': at },
      }),
    );
  }

  private query(tenantId: string, prefix: string): Promise<Record<string, any>[]> {
    return queryAll(this.db, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': tenantPk(tenantId), ':prefix': prefix },
    });
  }
}
