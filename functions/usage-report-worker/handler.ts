import { usageReportDependencies } from '../../shared/composition/stripe.js';
import { createUsageReportWorker } from './usage-report-worker.js';

export const handler = createUsageReportWorker(usageReportDependencies());
