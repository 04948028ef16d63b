import { reportQueue, tenantDirectory } from '../../shared/composition/root.js';
import { createUsageReport } from './usage-report.js';

export const handler = createUsageReport({ tenants: tenantDirectory(), queue: reportQueue() });
