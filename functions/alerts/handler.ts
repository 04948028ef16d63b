import { alertStore, tenantDirectory } from '../../shared/composition/root.js';
import { createAlertsApi } from './alerts.js';

const directory = tenantDirectory();

export const handler = createAlertsApi({
  meters: (tenantId) => directory.listMeters(tenantId),
  alerts: alertStore(),
  now: Date.now,
});
