import { alertStore, tenantDirectory } from '../../shared/dependencies.js';
import { createAlertsApi } from './alerts.js';

const directory = tenantDirectory();

export const handler = createAlertsApi({
  meters: (tenantId) => directory.listMeters(tenantId),
  alerts: alertStore(),
  now: () => new Date(),
});
