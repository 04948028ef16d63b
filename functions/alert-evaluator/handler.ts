import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { EventBridgeAlertNotifier } from '../../shared/alerts/adapters/alert-notifier.js';
import { alertStore, tenantDirectory, usageStore } from '../../shared/composition/root.js';
import { logger } from '../../shared/platform/observability.js';
import { createAlertEvaluator } from './alert-evaluator.js';

const directory = tenantDirectory();
const store = usageStore();
// Locally there is no event bus: fired alerts are logged and visible through GET /v1/alerts.
const bus = process.env.EVENT_BUS_NAME ? new EventBridgeAlertNotifier(new EventBridgeClient({}), process.env.EVENT_BUS_NAME) : undefined;

export const handler = createAlertEvaluator({
  tenantIds: async () => (await directory.listTenants()).map((t) => t.id),
  alerts: alertStore(),
  monthValue: async (tenantId, meter, month) => (await store.series(tenantId, meter, 'month', month, month))[0]?.value ?? '0',
  notify: async (notification) => (bus ? bus.notify(notification) : logger.info('usage alert fired', { notification })),
  now: Date.now,
});
