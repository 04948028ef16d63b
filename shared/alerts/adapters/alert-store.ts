import type { Documents } from '../../platform/dynamo/documents.js';
import { errorName } from '../../platform/dynamo/errors.js';
import { queryAll } from '../../platform/dynamo/query.js';
import type { EpisodeRecord, Watch } from '../episodes.js';
import type { AlertStore } from '../ports.js';
import type { Alert, AlertFiring } from '../rules.js';

const tenantPk = (tenantId: string) => `TENANT#${tenantId}`;
const firingSk = (period: string, alertId: string) => `FIRED#${period}#${alertId}`;
const watchSk = (w: Watch) => `WATCH#${w.alertId}#${w.meter}#${w.window}`;
/** Episodes sort by their start, so the newest come first in a backwards query. */
const episodeSk = (w: Watch) => `EPISODE#${w.episode!.start}#${w.alertId}#${w.meter}#${w.window}`;

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
      if (errorName(error) === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  async listAlerts(tenantId: string): Promise<Alert[]> {
    // Rules stored before rules had kinds are quantity rules.
    return (await this.query(tenantId, 'ALERT#')).map(({ pk: _pk, sk: _sk, ...alert }) => ({ kind: 'quantity', ...alert }) as Alert);
  }

  /** False when the tenant has no such alert. Its watches go with it (an open silence of a deleted rule is no one's); its episodes stay as history. */
  async deleteAlert(tenantId: string, alertId: string): Promise<boolean> {
    const r = await this.db.delete({
      TableName: this.table,
      Key: { pk: tenantPk(tenantId), sk: `ALERT#${alertId}` },
      ReturnValues: 'ALL_OLD',
    });
    for (const w of await this.query(tenantId, `WATCH#${alertId}#`)) {
      await this.db.delete({ TableName: this.table, Key: { pk: w.pk, sk: w.sk } });
    }
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
      if (errorName(error) === 'ConditionalCheckFailedException') return false;
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

  async watches(tenantId: string): Promise<Watch[]> {
    return (await this.query(tenantId, 'WATCH#')).map(({ pk: _pk, sk: _sk, ...w }) => w as Watch);
  }

  /**
   * Writes the watch if the stored one is still the version it was made from (a concurrent run's write wins
   * otherwise), then its episode's copy in the tenant's episode history.
   */
  async saveWatch(tenantId: string, watch: Watch): Promise<boolean> {
    try {
      await this.db.put({
        TableName: this.table,
        Item: { pk: tenantPk(tenantId), sk: watchSk(watch), ...watch },
        ...(watch.version === 1
          ? { ConditionExpression: 'attribute_not_exists(pk)' }
          : { ConditionExpression: 'version = :previous', ExpressionAttributeValues: { ':previous': watch.version - 1 } }),
      });
    } catch (error) {
      if (errorName(error) === 'ConditionalCheckFailedException') return false;
      throw error;
    }
    if (watch.episode) {
      const { episode, alertId, meter, window } = watch;
      await this.db.put({
        TableName: this.table,
        Item: { pk: tenantPk(tenantId), sk: episodeSk(watch), alertId, meter, window, ...episode },
      });
    }
    return true;
  }

  async episodes(tenantId: string, limit: number): Promise<EpisodeRecord[]> {
    const r = await this.db.query({
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': tenantPk(tenantId), ':prefix': 'EPISODE#' },
      ScanIndexForward: false,
      Limit: limit,
    });
    return (r.Items ?? []).map(({ pk: _pk, sk: _sk, ...e }) => e as EpisodeRecord);
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
