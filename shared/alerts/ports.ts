import type { Alert, AlertFiring, AlertNotification } from './rules.js';

/** Alerts and their firings; ./adapters/alert-store.ts implements it. */
export interface AlertStore {
  putAlert(alert: Alert): Promise<void>;
  listAlerts(tenantId: string): Promise<Alert[]>;
  /** False when the tenant has no such alert. */
  deleteAlert(tenantId: string, alertId: string): Promise<boolean>;
  /** This period's firings by alert id. */
  firings(tenantId: string, period: string): Promise<Map<string, AlertFiring>>;
  /** Records a firing once per alert and period; false when it was already recorded. */
  recordFiring(tenantId: string, firing: AlertFiring): Promise<boolean>;
  markNotified(tenantId: string, firing: AlertFiring, at: string): Promise<void>;
}

/** Where fired alerts are published; ./adapters/alert-notifier.ts implements it on EventBridge. */
export interface AlertNotifier {
  notify(notification: AlertNotification): Promise<void>;
}
