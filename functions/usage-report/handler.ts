import { tenantDirectory, usageStore } from '../../shared/dependencies.js';
import { stripeStore, usageReporter } from '../../shared/stripe/dependencies.js';
import { createUsageReport } from './usage-report.js';

const directory = tenantDirectory();
const usage = usageStore();

export const handler = createUsageReport({
  tenants: directory,
  usage,
  store: stripeStore(),
  reporter: usageReporter(),
});
