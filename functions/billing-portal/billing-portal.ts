import { ClientError } from '../../shared/kernel/errors.js';
import { type HttpEvent, httpApi, json, routes } from '../../shared/platform/http.js';
import { requireTenant } from '../../shared/tenancy/access.js';

export interface BillingPortalDependencies {
  /** The tenant's Stripe customer, once the usage report linked it. */
  customerOf(tenantId: string): Promise<string | undefined>;
  createSession(customerId: string, returnUrl: string): Promise<{ url: string }>;
  /** Where Stripe sends the tenant back, the dashboard (the API stage's `dashboardUrl` variable in AWS). */
  dashboardUrl(event: HttpEvent): string;
}

/** "Manage plan / payment methods": a Stripe customer portal session for the caller's tenant. */
export function createBillingPortalApi(deps: BillingPortalDependencies) {
  return httpApi(
    routes({
      'POST /v1/billing/portal-sessions': async (event) => {
        const tenantId = requireTenant(event);
        const customerId = await deps.customerOf(tenantId);
        if (!customerId) {
          throw new ClientError('CONFLICT', 'this tenant is not linked to a Stripe customer yet; the daily usage report links it');
        }
        const session = await deps.createSession(customerId, `${deps.dashboardUrl(event).replace(/\/+$/, '')}/#/plan`);
        return json(201, { url: session.url });
      },
    }),
  );
}
