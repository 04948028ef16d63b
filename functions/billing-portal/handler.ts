import { billingPortal, stripeStore } from '../../shared/composition/stripe.js';
import { required } from '../../shared/platform/config.js';
import { createBillingPortalApi } from './billing-portal.js';

const store = stripeStore();
const portal = billingPortal();

export const handler = createBillingPortalApi({
  customerOf: (tenantId) => store.customerOf(tenantId),
  createSession: (customerId, returnUrl) => portal.createSession(customerId, returnUrl),
  // API Gateway passes the stage variable; the local runtime serves the dashboard itself and says where in DASHBOARD_URL.
  dashboardUrl: (event) => event.stageVariables?.dashboardUrl ?? required('DASHBOARD_URL'),
});
