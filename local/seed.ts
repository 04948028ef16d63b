import type { AlertStore, EmailStore } from '../shared/alerts/ports.js';
import type { DynamoBillingStore } from '../shared/billing/adapters/billing-store.js';
import { type GrantRequest, newGrant } from '../shared/billing/credits.js';
import { type Plan, seedPlans } from '../shared/billing/plans.js';
import { newSubscription } from '../shared/billing/subscriptions.js';
import { calendarMonth } from '../shared/kernel/periods.js';
import { seedMeters } from '../shared/metering/seed-meters.js';
import { issueApiKey } from '../shared/tenancy/api-keys.js';
import type { TenantDirectory } from '../shared/tenancy/ports.js';

export const DEMO_TENANT = 'demo';
const ADMIN_KEY_NAME = 'local admin';
const DEMO_KEY_NAME = 'demo';
const DEMO_PLAN = 'demo';

export interface DemoSeed {
  adminKey: string;
  tenantId: string;
  tenantKey: string;
  planId: string;
}

/**
 * An admin key and a demo tenant with the seed documents' meters, one API key, and a subscription to
 * seed 1's $199 plan (with features) that started this month, so that `GET /v1/invoices/upcoming` prices the demo's usage;
 * example seller and customer details for its invoices, a hard limit on orders for the dashboard's bar, and
 * prepaid credits from the month's start (a $500 purchase, a monthly allowance of 3,000 API calls) so that its
 * upcoming invoice and `GET /v1/credits` show them burning down.
 */
export async function seedDemo(directory: TenantDirectory, billing: DynamoBillingStore, now = Date.now()): Promise<DemoSeed> {
  const admin = await issueApiKey(directory, { admin: true }, ADMIN_KEY_NAME, now);
  const tenantId = DEMO_TENANT;
  await directory.createTenant({ id: tenantId, name: 'Optical Labs Inc. (demo)', createdAt: new Date(now).toISOString() });
  for (const meter of seedMeters) await directory.putMeter(tenantId, meter);
  const tenant = await issueApiKey(directory, { tenantId }, DEMO_KEY_NAME, now);
  // Seed 1's $199 plan, with features of each kind for the dashboard's Plan page to show.
  const plan: Plan = {
    ...seedPlans.find((p) => p.id === 'base-199')!,
    id: DEMO_PLAN,
    name: 'Growth (demo)',
    features: {
      sso: { kind: 'boolean', value: true },
      dedicated_support: { kind: 'boolean', value: false },
      users: { kind: 'static', value: '10' },
      ai_jobs_per_month: { kind: 'metered', meter: 'ai_jobs', limit: 'unlimited' },
    },
  };
  await billing.putPlan(plan);
  await billing.putSubscription(
    newSubscription({
      tenantId,
      planId: plan.id,
      interval: plan.interval,
      currency: plan.currency,
      startAt: calendarMonth(now).start,
      now,
    }),
  );
  await billing.putSeller({
    name: 'Meterline Demo Operator Ltd.',
    address: ['1 Example Street', 'London EC1A 1AA', 'United Kingdom'],
    taxId: 'GB123456789',
    email: 'billing@example.com',
    paymentTermsDays: 14,
    paymentInstructions: 'Pay by bank transfer to IBAN GB00 EXAM 0000 0000 0000 00, quoting the invoice number.',
  });
  await billing.putCustomer(tenantId, {
    name: 'Optical Labs Inc.',
    address: ['200 Lens Avenue', 'Rochester, NY 14604', 'USA'],
    taxId: 'US-EIN 12-3456789',
  });
  await billing.putQuota(tenantId, { meter: 'orders', limit: '2500', updatedAt: new Date(now).toISOString() });
  const from = new Date(calendarMonth(now).start).toISOString();
  const grants: [string, GrantRequest][] = [
    ['g_demo_purchase', { amount: '500.00', source: 'purchased', effectiveAt: from, description: 'Prepaid usage' }],
    [
      'g_demo_allowance',
      { amount: '3000', meter: 'api_calls', source: 'promotional', effectiveAt: from, recurrence: 'monthly', priority: 10 },
    ],
  ];
  for (const [id, req] of grants) {
    const { grant, entry } = newGrant(tenantId, req, { id, now, currency: plan.currency });
    await billing.putCreditGrant(grant, entry);
  }
  return { adminKey: admin.token, tenantId, tenantKey: tenant.token, planId: plan.id };
}

/**
 * New demo keys for a stored demo tenant whose keys were lost (the file that held them was deleted, or they were
 * revoked): the keys `seedDemo` made are revoked, so no token of an earlier start works, and new ones issued.
 */
export async function reissueDemoKeys(directory: TenantDirectory, now = Date.now()): Promise<DemoSeed> {
  const at = new Date(now).toISOString();
  for (const [owner, name] of [
    [{ admin: true }, ADMIN_KEY_NAME],
    [{ tenantId: DEMO_TENANT }, DEMO_KEY_NAME],
  ] as const) {
    for (const key of await directory.listApiKeys(owner)) {
      if (key.name === name && !key.revokedAt) await directory.revokeApiKey(owner, key.keyId, at);
    }
  }
  const admin = await issueApiKey(directory, { admin: true }, ADMIN_KEY_NAME, now);
  const tenant = await issueApiKey(directory, { tenantId: DEMO_TENANT }, DEMO_KEY_NAME, now);
  return { adminKey: admin.token, tenantId: DEMO_TENANT, tenantKey: tenant.token, planId: DEMO_PLAN };
}

/** The demo tenant's contacts, verified so that its mail arrives in the local mailbox at once. */
export const DEMO_CONTACTS = { technical: 'tech@optical-labs.example', billing: 'billing@optical-labs.example' } as const;

/**
 * The demo tenant's mail: a rule at 80% of its orders quota (2,000 of 2,500, above the month the demo posts), and a
 * verified technical and billing contact, so crossing the rule or issuing an invoice puts a mail in the local mailbox.
 */
export async function seedDemoMail(alerts: Pick<AlertStore, 'putAlert'>, email: Pick<EmailStore, 'putRecipient'>, now = Date.now()) {
  const at = new Date(now).toISOString();
  await alerts.putAlert({
    id: 'orders-quota-80',
    tenantId: DEMO_TENANT,
    kind: 'percent',
    meter: 'orders',
    of: 'quota',
    percent: '80',
    name: 'Orders at 80% of the quota',
    createdAt: at,
  });
  for (const role of ['technical', 'billing'] as const) {
    await email.putRecipient({
      tenantId: DEMO_TENANT,
      address: DEMO_CONTACTS[role],
      role,
      categories: role === 'technical' ? ['usage'] : ['billing'],
      createdAt: at,
      verifiedAt: at,
    });
  }
}
