import { tenantDirectory } from '../../shared/composition/root.js';
import { required } from '../../shared/platform/config.js';
import { createDashboardSessionsApi } from './dashboard-sessions.js';

const directory = tenantDirectory();

export const handler = createDashboardSessionsApi({
  sessions: directory,
  getTenant: (tenantId) => directory.getTenant(tenantId),
  dashboardUrl: () => required('DASHBOARD_URL'),
  now: () => new Date(),
});
