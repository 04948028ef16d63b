import { reportQueue } from '../../shared/composition/report.js';
import { tenantDirectory } from '../../shared/composition/tenancy.js';
import { createUsageReport } from './usage-report.js';

export const handler = createUsageReport({ tenants: tenantDirectory(), queue: reportQueue() });
