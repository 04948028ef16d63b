import { tenantDirectory } from '../../shared/composition/tenancy.js';
import { required } from '../../shared/platform/config.js';
import { createDashboardSessionsApi } from './dashboard-sessions.js';

const directory = tenantDirectory();

export const handler = createDashboardSessionsApi({
  sessions: directory,
  getTenant: (tenantId) => directory.getTenant(tenantId),
  // API Gateway passes the stage variable; the local runtime serves the dashboard itself and says where in DASHBOARD_URL.
  dashboardUrl: (event) => event.stageVariables?.dashboardUrl ?? required('DASHBOARD_URL'),
  now: Date.now,
});
