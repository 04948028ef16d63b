import * as z from 'zod';
import { recipientInputSchema, recipientUpdateSchema } from '../../shared/alerts/email.js';
import { alertConditionSchema } from '../../shared/alerts/rules.js';
import { endpointDefinitionSchema, rotationSchema } from '../../shared/alerts/webhooks.js';
import { analyticsSchema } from '../../shared/billing/analytics.js';
import { grantRequestSchema } from '../../shared/billing/credits.js';
import { entitlementSchema } from '../../shared/billing/entitlements.js';
import { fleetSimulationJobSchema } from '../../shared/billing/fleet-simulation-job.js';
import { invoiceSchema, upcomingInvoiceSchema } from '../../shared/billing/invoices.js';
import { partySchema, sellerSchema } from '../../shared/billing/parties.js';
import { pauseRequestSchema } from '../../shared/billing/pauses.js';
import { migrationRequestSchema, versionRequestSchema } from '../../shared/billing/plan-versions.js';
import { planDefinitionSchema, planSchema } from '../../shared/billing/plans.js';
import { quotaCheckSchema, quotaDefinitionSchema } from '../../shared/billing/quotas.js';
import { pricingSimulationQuery, simulationRequestSchema, simulationSchema } from '../../shared/billing/simulations.js';
import { subscriptionRequestSchema } from '../../shared/billing/subscriptions.js';
import { extend } from '../../shared/kernel/zod-mini.js';
import { correctionRequestSchema } from '../../shared/metering/corrections.js';
import { cloudEventSchema, nativeEventSchema } from '../../shared/metering/events.js';
import { meterDefinitionSchema } from '../../shared/metering/meters.js';
import { type RouteKind, routeKind } from '../../shared/tenancy/access.js';
import { newSessionSchema, newTenantSchema, rateLimitSettingsSchema } from '../../shared/tenancy/requests.js';
import { tenantIdSchema } from '../../shared/tenancy/tenants.js';
import { keyRequest, serviceKeyRequest, tenantKeyRequest } from '../admin/admin.js';
import { alertsSchema, deliveriesQuery, emailMessagesQuery } from '../alerts/alerts.js';
import {
  creditsSchema,
  invoiceListSchema,
  listQuery,
  pricingSchema,
  publicPlansSchema,
  quotaQuery,
  quotasSchema,
} from '../billing/billing.js';
import { csvPartQuery, statusRequest } from '../billing-admin/billing-admin.js';
import { billingIssuesQuery, consoleSchema } from '../console/console.js';
import { whoamiSchema } from '../dashboard-sessions/dashboard-sessions.js';
import { eventsQuery } from '../events/events.js';
import { eventOutcomeSchema, ingestResponseSchema } from '../ingest/ingest.js';
import { replayRequestSchema } from '../ingest/replay.js';
import { adminListQuery, quarantinedListSchema } from '../quarantine/quarantine.js';
import { recomputeRequestSchema } from '../recompute/recompute.js';
import { currentUsageSchema, metersSchema, usageQuery, usageSeriesSchema } from '../usage/usage.js';
import { exportQuery } from '../usage-export-api/export-api.js';

/** An event as a service key posts it: the native shape naming its tenant (ingest takes `tenant` off before validating). */
const serviceEventSchema = extend(nativeEventSchema, { tenant: z.optional(tenantIdSchema) });
const ingestBody = z.union([
  serviceEventSchema,
  cloudEventSchema,
  z.array(z.union([serviceEventSchema, cloudEventSchema])),
  z.object({ events: z.array(z.unknown()) }),
]);

/** Request schemas clients refer to by name (and the Node client's types are generated from). */
const requests = {
  NativeEvent: serviceEventSchema,
  CloudEvent: cloudEventSchema,
};

/** The answers' schemas, by name: each route that answers JSON a client reads names its own. */
export const responses = {
  EventOutcome: eventOutcomeSchema,
  IngestResponse: ingestResponseSchema,
  QuotaCheck: quotaCheckSchema,
  Entitlement: entitlementSchema,
  Entitlements: z.object({
    planId: z.string().optional(),
    period: z.object({ start: z.string(), end: z.string() }),
    asOf: z.string(),
    entitlements: z.array(entitlementSchema),
  }),
  Meters: metersSchema,
  CurrentUsage: currentUsageSchema,
  UsageSeries: usageSeriesSchema,
  Analytics: analyticsSchema,
  Pricing: pricingSchema,
  PublicPlans: publicPlansSchema,
  Simulation: simulationSchema,
  FleetSimulationJob: fleetSimulationJobSchema,
  Plans: z.object({ plans: z.array(planSchema) }),
  Quotas: quotasSchema,
  Credits: creditsSchema,
  InvoiceList: invoiceListSchema,
  Invoice: invoiceSchema,
  UpcomingInvoice: upcomingInvoiceSchema,
  Alerts: alertsSchema,
  Whoami: whoamiSchema,
  Console: consoleSchema,
  QuarantinedList: quarantinedListSchema,
};

interface Operation {
  summary: string;
  body?: z.core.$ZodType;
  query?: z.ZodObject;
  response?: keyof typeof responses;
  /** Status of success; 200 when absent. */
  status?: number;
}

/**
 * Every route of the API with the zod schemas its handler validates with: the one description the
 * OpenAPI document is generated from. A test holds it equal to the routes in infra/catalog.ts.
 */
export const operations: Record<string, Operation> = {
  'POST /v1/events': {
    summary: 'Post usage events (one, an array of up to 1,000, or { events })',
    body: ingestBody,
    response: 'IngestResponse',
    status: 202,
  },
  'POST /api/v1/events': {
    summary: 'OpenMeter-compatible ingestion (CloudEvents; 204 when every event is taken)',
    body: z.union([cloudEventSchema, z.array(cloudEventSchema)]),
    status: 204,
  },
  'POST /v1/admin/tenants/{tenantId}/events': {
    summary: "Import a tenant's history (?firstImport=true before its first invoice)",
    body: ingestBody,
    response: 'IngestResponse',
    status: 202,
  },
  'POST /v1/events/{id}/corrections': {
    summary: 'Void an event or replace its value or properties',
    body: correctionRequestSchema,
    status: 201,
  },
  'POST /v1/admin/tenants/{tenantId}/events/{id}/corrections': {
    summary: "Void or correct a tenant's event",
    body: correctionRequestSchema,
    status: 201,
  },
  'GET /v1/events': { summary: 'Rejected or quarantined events, newest first', query: eventsQuery },
  'GET /v1/events/{id}': { summary: 'One event: its status, payload and the counters it moved' },
  'GET /v1/admin/quarantine': {
    summary: 'Quarantined events of every tenant, or of one',
    query: adminListQuery,
    response: 'QuarantinedList',
  },
  'POST /v1/admin/tenants/{tenantId}/events/{id}/replay': { summary: 'Fold a quarantined event once its cause is fixed' },
  'POST /v1/admin/tenants/{tenantId}/rejections/replay': {
    summary: "Replay a tenant's events refused as UNKNOWN_METER, once the meter exists (idempotent by event id)",
    body: replayRequestSchema,
    response: 'IngestResponse',
    status: 202,
  },
  'POST /v1/admin/tenants/{tenantId}/recompute': {
    summary: "Start a job that rebuilds the tenant's counters from the ledger, reports drifts and repairs them on request",
    body: recomputeRequestSchema,
    status: 202,
  },
  'GET /v1/admin/recompute/{jobId}': { summary: "A recompute job's progress, drifts and repairs" },
  'GET /v1/meters': { summary: "The tenant's meters", response: 'Meters' },
  'GET /v1/usage': { summary: 'A usage series of one meter', query: usageQuery, response: 'UsageSeries' },
  'GET /v1/usage/current': { summary: "Per meter, this month's value and event count", response: 'CurrentUsage' },
  'GET /v1/usage/export': {
    summary: "The tenant's counted events from the Parquet export, as NDJSON or CSV; the next page's cursor in Meterline-Next-Cursor",
    query: exportQuery,
  },
  'GET /v1/alerts': {
    summary: "Alert rules with this billing period's firing, or (anomaly and silence rules) their newest episodes",
    response: 'Alerts',
  },
  'GET /v1/alerts/{alertId}': {
    summary: 'One alert rule and its firings, newest period first (anomaly and silence rules: its newest episodes)',
  },
  'PUT /v1/alerts/{alertId}': {
    summary: 'Create or replace an alert rule (quantity, percent of a quota, spend, anomaly or silence)',
    body: alertConditionSchema,
  },
  'DELETE /v1/alerts/{alertId}': { summary: 'Delete an alert rule', status: 204 },
  'POST /v1/webhooks': {
    summary: 'Register a webhook endpoint (its signing secret is shown once)',
    body: endpointDefinitionSchema,
    status: 201,
  },
  'GET /v1/webhooks': { summary: 'Webhook endpoints' },
  'GET /v1/webhooks/{endpointId}': { summary: 'One webhook endpoint' },
  'PUT /v1/webhooks/{endpointId}': { summary: "Change an endpoint's URL or event types", body: endpointDefinitionSchema },
  'DELETE /v1/webhooks/{endpointId}': { summary: 'Delete a webhook endpoint', status: 204 },
  'POST /v1/webhooks/{endpointId}/rotate-secret': {
    summary: 'Rotate the signing secret; the old one keeps signing for the overlap',
    body: rotationSchema,
  },
  'GET /v1/webhooks/{endpointId}/deliveries': { summary: "An endpoint's delivery log, newest first", query: deliveriesQuery },
  'POST /v1/webhooks/{endpointId}/deliveries/{deliveryId}/replay': { summary: 'Deliver an event to the endpoint again', status: 202 },
  'GET /v1/email/recipients': { summary: "The tenant's email recipients, verified or not" },
  'POST /v1/email/recipients': {
    summary:
      'Name an email recipient (billing or technical contact, or an extra address); it receives mail once it follows the verification link sent now',
    body: recipientInputSchema,
    status: 201,
  },
  'PUT /v1/email/recipients/{address}': {
    summary: 'Change what a recipient receives (its categories) or its role',
    body: recipientUpdateSchema,
  },
  'DELETE /v1/email/recipients/{address}': { summary: 'Remove an email recipient', status: 204 },
  'POST /v1/email/recipients/{address}/verify': { summary: 'Send the verification mail again', status: 202 },
  'GET /v1/email/messages': { summary: 'The email log, newest first: each message with its attempts', query: emailMessagesQuery },
  'GET /v1/invoices': { summary: 'Invoices, newest first', query: listQuery, response: 'InvoiceList' },
  'GET /v1/invoices/upcoming': { summary: "The current period's draft invoice", response: 'UpcomingInvoice' },
  'GET /v1/invoices/{id}': { summary: 'One invoice', response: 'Invoice' },
  'GET /v1/invoices/{id}/html': { summary: 'One invoice, printable HTML' },
  'GET /v1/analytics': { summary: 'Usage cost so far, trends and projection for the period', response: 'Analytics' },
  'GET /v1/pricing': { summary: "The tenant's plan and current period", response: 'Pricing' },
  'GET /v1/pricing/plans': { summary: 'The public plans, each at its version in effect', response: 'PublicPlans' },
  'GET /v1/pricing/simulate': {
    summary: "The tenant's last invoiced periods re-priced on a public plan, beside what was invoiced",
    query: pricingSimulationQuery,
    response: 'Simulation',
  },
  'GET /v1/quotas': { summary: "The tenant's hard quotas and their usage", response: 'Quotas' },
  'GET /v1/quotas/{meter}': {
    summary: 'Whether `quantity` more fits the hard quota (service keys name ?tenant=)',
    query: quotaQuery.extend({ tenant: z.optional(tenantIdSchema) }),
    response: 'QuotaCheck',
  },
  'GET /v1/entitlements': {
    summary: "What the tenant's plan includes, with usage and remaining for metered features (service keys name ?tenant=)",
    query: z.object({ tenant: z.optional(tenantIdSchema) }),
    response: 'Entitlements',
  },
  'GET /v1/entitlements/{feature}': {
    summary: 'Whether the tenant has `feature` now (hasAccess), and its value or usage and limit (service keys name ?tenant=)',
    query: z.object({ tenant: z.optional(tenantIdSchema) }),
    response: 'Entitlement',
  },
  'GET /v1/credits': {
    summary: "The tenant's credit grants with what is left of each now, and its balance now and projected at period end",
    response: 'Credits',
  },
  'GET /v1/openapi.json': { summary: 'This document' },
  'POST /v1/admin/tenants': { summary: 'Create a tenant', body: newTenantSchema, status: 201 },
  'GET /v1/admin/tenants': { summary: 'List tenants' },
  'GET /v1/admin/tenants/{tenantId}': { summary: 'A tenant, its meters and its rate limits' },
  'PUT /v1/admin/tenants/{tenantId}/rate-limits': {
    summary: "Set a tenant's rate limits, requests per second per bucket (null: the default)",
    body: rateLimitSettingsSchema,
  },
  'GET /v1/admin/tenants/{tenantId}/meters': { summary: "A tenant's meters" },
  'PUT /v1/admin/tenants/{tenantId}/meters/{meter}': { summary: 'Define a meter', body: meterDefinitionSchema },
  'GET /v1/admin/tenants/{tenantId}/api-keys': { summary: "A tenant's API keys" },
  'POST /v1/admin/tenants/{tenantId}/api-keys': {
    summary: 'Create a tenant key (scope full or read)',
    body: tenantKeyRequest,
    status: 201,
  },
  'DELETE /v1/admin/tenants/{tenantId}/api-keys/{keyId}': { summary: "Revoke a tenant's key", status: 204 },
  'GET /v1/admin/api-keys': { summary: 'Admin keys' },
  'POST /v1/admin/api-keys': { summary: 'Create an admin key', body: keyRequest, status: 201 },
  'DELETE /v1/admin/api-keys/{keyId}': { summary: 'Revoke an admin key', status: 204 },
  'GET /v1/admin/service-keys': { summary: 'Service keys' },
  'POST /v1/admin/service-keys': {
    summary: 'Create a service key (every tenant, or the listed ones)',
    body: serviceKeyRequest,
    status: 201,
  },
  'DELETE /v1/admin/service-keys/{keyId}': { summary: 'Revoke a service key', status: 204 },
  'PUT /v1/admin/service-keys/{keyId}/rate-limits': {
    summary: "Set a service key's rate limits, requests per second per bucket (null: the default)",
    body: rateLimitSettingsSchema,
  },
  'GET /v1/admin/plans': { summary: 'Plans, each at its version in effect', response: 'Plans' },
  'GET /v1/admin/plans/{planId}': { summary: 'One plan at its version in effect' },
  'PUT /v1/admin/plans/{planId}': {
    summary: 'Create a plan, or publish a changed definition as its next version, in effect now',
    body: planDefinitionSchema,
  },
  'GET /v1/admin/plans/{planId}/versions': { summary: "A plan's versions, first to latest" },
  'POST /v1/admin/plans/{planId}/versions': {
    summary: 'Publish the next version of a plan (subscriptions stay on theirs until migrated)',
    body: versionRequestSchema,
    status: 201,
  },
  'POST /v1/admin/simulations': {
    summary:
      "A tenant's last invoiced periods re-priced on a candidate plan (a version or a definition), line by line; without tenantId, every subscribed tenant's as a job (202)",
    body: simulationRequestSchema,
  },
  'GET /v1/admin/simulations/{jobId}': {
    summary: "A fleet simulation's progress, and when done its revenue, distribution and largest changes",
    response: 'FleetSimulationJob',
  },
  'GET /v1/admin/simulations/{jobId}/csv': {
    summary: "A part of a fleet simulation's CSV, a row per tenant and period (csvParts in the job says how many)",
    query: z.object({ part: csvPartQuery }),
  },
  'POST /v1/admin/plans/{planId}/migrations': {
    summary: "Move subscriptions to a plan's version at their next period boundary or at an instant",
    body: migrationRequestSchema,
  },
  'GET /v1/admin/tenants/{tenantId}/subscription': { summary: "A tenant's subscription" },
  'PUT /v1/admin/tenants/{tenantId}/subscription': { summary: 'Subscribe, change or cancel', body: subscriptionRequestSchema },
  'GET /v1/admin/tenants/{tenantId}/quotas': { summary: "A tenant's hard quotas" },
  'GET /v1/admin/tenants/{tenantId}/credits': { summary: "A tenant's credit grants with their balances, and its credit ledger" },
  'POST /v1/admin/tenants/{tenantId}/credits': { summary: 'Grant prepaid credits', body: grantRequestSchema, status: 201 },
  'POST /v1/admin/tenants/{tenantId}/credits/{grantId}/void': { summary: 'Void a grant: what is left of it leaves the balance' },
  'PUT /v1/admin/tenants/{tenantId}/quotas/{meter}': { summary: 'Set a hard quota', body: quotaDefinitionSchema },
  'DELETE /v1/admin/tenants/{tenantId}/quotas/{meter}': { summary: 'Remove a hard quota', status: 204 },
  'GET /v1/admin/tenants/{tenantId}/invoices': { summary: "A tenant's invoices" },
  'POST /v1/admin/tenants/{tenantId}/invoices/{id}/status': { summary: "Set an invoice's status", body: statusRequest },
  'GET /v1/admin/billing/pauses': { summary: 'Billing pauses' },
  'PUT /v1/admin/billing/pause': { summary: 'Pause billing for all tenants', body: pauseRequestSchema, status: 201 },
  'DELETE /v1/admin/billing/pause': { summary: 'Resume billing for all tenants' },
  'PUT /v1/admin/tenants/{tenantId}/billing/pause': { summary: "Pause a tenant's billing", body: pauseRequestSchema, status: 201 },
  'DELETE /v1/admin/tenants/{tenantId}/billing/pause': { summary: "Resume a tenant's billing" },
  'POST /v1/admin/tenants/{tenantId}/invoices/{id}/reissue': {
    summary: 'Void the invoice and issue a replacement from the current counters',
    status: 201,
  },
  'GET /v1/invoices/{id}/pdf': { summary: 'One invoice as a PDF document' },
  'GET /v1/admin/billing/seller': { summary: "The seller's details printed on invoices" },
  'PUT /v1/admin/billing/seller': { summary: "Set the seller's details", body: sellerSchema },
  'GET /v1/admin/tenants/{tenantId}/billing-details': { summary: "A tenant's customer details printed on invoices" },
  'PUT /v1/admin/tenants/{tenantId}/billing-details': { summary: "Set a tenant's customer details", body: partySchema },
  'GET /v1/admin/billing-issues': {
    summary: 'Billing issues for a person to look at: reconciliation mismatches, meter error reports, failed payments',
    query: billingIssuesQuery,
  },
  'GET /v1/admin/console': {
    summary: "Every tenant's plan, projected revenue, usage, invoices by status and open mismatches",
    response: 'Console',
  },
  'POST /v1/dashboard/sessions': {
    summary: 'Mint a short-lived dashboard session (answers a sign-in URL)',
    body: newSessionSchema,
    status: 201,
  },
  'GET /v1/dashboard/session': { summary: 'The calling dashboard session', response: 'Whoami' },
  'DELETE /v1/dashboard/sessions/{sessionId}': { summary: 'Revoke a dashboard session', status: 204 },
  'POST /v1/billing/portal-sessions': { summary: 'Open a Stripe customer portal session', status: 201 },
};

const jsonSchema = (schema: z.core.$ZodType) => {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Record<
    string,
    unknown
  >;
  return rest;
};

/**
 * An answer's JSON Schema: what the handler sends (zod's output), open to fields a client does not know, so that
 * an answer may grow without breaking a client.
 */
const responseSchema = (schema: z.core.$ZodType) => {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    io: 'output',
    unrepresentable: 'any',
    target: 'draft-2020-12',
  }) as Record<string, unknown>;
  return open(rest) as Record<string, unknown>;
};
const open = (node: unknown): unknown => {
  if (Array.isArray(node)) return node.map(open);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key, value]) => !(key === 'additionalProperties' && value === false))
      .map(([key, value]) => [key, open(value)]),
  );
};

const errorSchema = {
  type: 'object',
  required: ['code', 'message'],
  properties: { code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' } },
};

const who: Record<RouteKind, string> = {
  ingest: 'tenant and service keys',
  'quota-check': 'tenant, read-only and service keys',
  read: 'tenant and read-only keys',
  write: 'tenant keys',
  admin: 'admin keys',
  'admin-read': 'admin keys and console sessions',
  'any-key': 'any key',
  dashboard: 'tenant keys and dashboard sessions',
  'session-mint': 'tenant and admin keys and console sessions',
  session: 'every key but service keys, and sessions',
  'session-end': 'tenant and admin keys, and the session itself',
};

/** The catch-all routes that answer unknown paths with the error contract: not operations of the API. */
export const isCatchAll = (routeKey: string) => routeKey.endsWith(' /{proxy+}');

/** The OpenAPI 3.1 document of the API, generated from `operations`. */
export function openApiDocument(routeKeys: string[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const routeKey of routeKeys.filter((r) => !isCatchAll(r))) {
    // A route not described yet still appears (the test insists it be described).
    const op = operations[routeKey] ?? { summary: routeKey };
    const [method, path] = routeKey.split(' ') as [string, string];
    const pathParams = [...path.matchAll(/\{(\w+)\}/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    const queryParams = op.query
      ? Object.entries(jsonSchema(op.query).properties as Record<string, unknown>).map(([name, schema]) => ({
          name,
          in: 'query',
          required: ((jsonSchema(op.query!).required as string[] | undefined) ?? []).includes(name),
          schema,
        }))
      : [];
    const status = String(op.status ?? 200);
    const success = op.response
      ? { description: 'OK', content: { 'application/json': { schema: { $ref: `#/components/schemas/${op.response}` } } } }
      : { description: 'OK', ...(status === '204' ? {} : { content: { 'application/json': { schema: {} } } }) };
    paths[path] ??= {};
    paths[path][method.toLowerCase()] = {
      operationId: `${method.toLowerCase()}${path.replace(/[{}]/g, '').replace(/[/.-](\w)/g, (_, c: string) => c.toUpperCase())}`,
      summary: op.summary,
      description: `Allowed for ${who[routeKind(routeKey)]}.`,
      ...(pathParams.length + queryParams.length ? { parameters: [...pathParams, ...queryParams] } : {}),
      ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(op.body) } } } } : {}),
      responses: {
        [status]: success,
        ...(routeKey === 'POST /v1/events'
          ? {
              '503': {
                description: 'Some events were not made durable: retry them with the same ids',
                content: { 'application/json': { schema: { $ref: '#/components/schemas/IngestResponse' } } },
              },
            }
          : {}),
        '4XX': { description: 'The error contract', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Meterline API', version: '1' },
    security: [{ apiKey: [] }],
    components: {
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'A Meterline API key: mtl_<key id>_<secret>' } },
      schemas: {
        Error: errorSchema,
        ...Object.fromEntries(Object.entries(requests).map(([name, schema]) => [name, jsonSchema(schema)])),
        ...Object.fromEntries(Object.entries(responses).map(([name, schema]) => [name, responseSchema(schema)])),
      },
    },
    paths,
  };
}
