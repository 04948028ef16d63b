import * as z from 'zod';
import {
  defaultCategories,
  emailAddressSchema,
  MAX_RECIPIENTS,
  type Recipient,
  recipientInputSchema,
  recipientUpdateSchema,
} from '../../shared/alerts/email.js';
import { requestVerification } from '../../shared/alerts/email-delivery.js';
import { episodeSchema } from '../../shared/alerts/episodes.js';
import type { AlertStore, DeliveryQueue, EmailQueue, EmailStore, WebhookStore } from '../../shared/alerts/ports.js';
import {
  type Alert,
  alertConditionSchema,
  alertDefinitionSchema,
  alertFiringSchema,
  alertIdSchema,
  isThresholdRule,
} from '../../shared/alerts/rules.js';
import {
  endpointDefinitionSchema,
  endpointIdSchema,
  endpointView,
  newEndpointId,
  newSecret,
  rotate,
  rotationSchema,
  type WebhookEndpoint,
} from '../../shared/alerts/webhooks.js';
import { ClientError } from '../../shared/kernel/errors.js';
import type { Period } from '../../shared/kernel/periods.js';
import type { Meter } from '../../shared/metering/meters.js';
import { type HttpEvent, httpApi, json, jsonBody, parseInput, routes } from '../../shared/platform/http.js';
import { requireTenant } from '../../shared/tenancy/access.js';

export interface AlertsDependencies {
  meters(tenantId: string): Promise<Meter[]>;
  /** The tenant's billing period holding `now` (the subscription's; the calendar month without one). */
  period(tenantId: string, now: number): Promise<Period>;
  alerts: Pick<AlertStore, 'putAlert' | 'listAlerts' | 'deleteAlert' | 'firings' | 'episodes'>;
  webhooks: Pick<
    WebhookStore,
    'putEndpoint' | 'getEndpoint' | 'listEndpoints' | 'deleteEndpoint' | 'listDeliveries' | 'getDelivery' | 'reopenDelivery'
  >;
  /** Why a URL may not receive webhooks (private address, no https in AWS), or undefined. */
  checkUrl(url: string): Promise<string | undefined>;
  queue: DeliveryQueue;
  email: {
    store: Pick<EmailStore, 'listRecipients' | 'getRecipient' | 'putRecipient' | 'deleteRecipient' | 'createEmail' | 'listEmails'>;
    queue: EmailQueue;
  };
  /** Epoch milliseconds. */
  now(): number;
}

/** The newest episodes read for the rules list: enough for each rule's recent ones on one page. */
const RECENT_EPISODES = 50;

/** What an answer adds to a rule: threshold rules this period's firing, anomaly and silence rules their newest episodes. */
const shownFields = {
  id: z.string(),
  createdAt: z.string(),
  firing: alertFiringSchema.nullable().optional(),
  episodes: z.array(episodeSchema.extend({ meter: z.string(), window: z.string() })).optional(),
};
const [quantity, percent, anomaly, silence, spend, balance] = alertConditionSchema.options;

/** GET /v1/alerts: the rules with this billing period's firings; hard quotas' firings beside them. */
export const alertsSchema = z.object({
  period: z.object({ start: z.string(), end: z.string() }),
  alerts: z.array(
    z.discriminatedUnion('kind', [
      quantity.strip().extend(shownFields),
      percent.strip().extend(shownFields),
      anomaly.strip().extend(shownFields),
      silence.strip().extend(shownFields),
      spend.strip().extend(shownFields),
      balance.strip().extend(shownFields),
    ]),
  ),
  quotaFirings: z.array(alertFiringSchema),
});

/** Endpoints a tenant may register: enough for every environment and team, few enough that fan-out stays cheap. */
const MAX_ENDPOINTS = 20;

export const emailMessagesQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(100).default(50) });

export const deliveriesQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().max(2000).optional(),
});

/** A tenant's alert rules with their firings, and its webhook endpoints with their delivery logs. */
export function createAlertsApi(deps: AlertsDependencies) {
  const iso = (t: number) => new Date(t).toISOString();
  const view = ({ tenantId: _t, ...alert }: Alert) => alert;

  const endpointOf = async (event: HttpEvent) => {
    const tenantId = requireTenant(event);
    const id = parseInput(endpointIdSchema, event.pathParameters?.endpointId, 'endpointId');
    const endpoint = await deps.webhooks.getEndpoint(tenantId, id);
    if (!endpoint) throw new ClientError('NOT_FOUND', `webhook endpoint ${id} does not exist`, 'endpointId');
    return endpoint;
  };
  const definitionOf = async (event: HttpEvent) => {
    const definition = parseInput(endpointDefinitionSchema, jsonBody(event));
    const refused = await deps.checkUrl(definition.url);
    if (refused) throw new ClientError('INVALID_REQUEST', `this URL cannot receive webhooks: ${refused}`, 'url');
    return definition;
  };

  const recipientView = ({ tenantId: _t, ...r }: Recipient) => ({ ...r, verified: r.verifiedAt !== undefined });
  const recipientOf = async (event: HttpEvent) => {
    const tenantId = requireTenant(event);
    const address = parseInput(emailAddressSchema, decodeURIComponent(event.pathParameters?.address ?? ''), 'address');
    const recipient = await deps.email.store.getRecipient(tenantId, address);
    if (!recipient) throw new ClientError('NOT_FOUND', `${address} is not one of this tenant's email recipients`, 'address');
    return recipient;
  };
  const verify = (r: Recipient) => requestVerification({ ...deps.email, now: deps.now }, r.tenantId, r.address);

  return httpApi(
    routes({
      'GET /v1/alerts': async (event) => {
        const tenantId = requireTenant(event);
        const period = await deps.period(tenantId, deps.now());
        const [alerts, firings, episodes] = await Promise.all([
          deps.alerts.listAlerts(tenantId),
          deps.alerts.firings(tenantId, iso(period.start)),
          deps.alerts.episodes(tenantId, RECENT_EPISODES),
        ]);
        const byAlert = new Map(firings.map((f) => [f.alertId, f]));
        // Anomaly and silence rules fire in episodes, not once per period: their newest episodes instead.
        const shown = (a: Alert) =>
          isThresholdRule(a)
            ? { firing: byAlert.get(a.id) ?? null }
            : { episodes: episodes.filter((e) => e.alertId === a.id).map(({ alertId: _a, ...e }) => e) };
        return json(200, {
          period: { start: iso(period.start), end: iso(period.end) },
          alerts: alerts.map((a) => ({ ...view(a), ...shown(a) })),
          quotaFirings: firings.filter((f) => f.alertId.startsWith('quota:')),
        });
      },
      'GET /v1/alerts/{alertId}': async (event) => {
        const tenantId = requireTenant(event);
        const id = parseInput(alertIdSchema, event.pathParameters?.alertId, 'alertId');
        const alert = (await deps.alerts.listAlerts(tenantId)).find((a) => a.id === id);
        if (!alert) throw new ClientError('NOT_FOUND', `alert "${id}" does not exist`, 'alertId');
        if (!isThresholdRule(alert)) {
          const episodes = (await deps.alerts.episodes(tenantId, RECENT_EPISODES)).filter((e) => e.alertId === id);
          return json(200, { ...view(alert), episodes: episodes.map(({ alertId: _a, ...e }) => e) });
        }
        const firings = (await deps.alerts.firings(tenantId))
          .filter((f) => f.alertId === id)
          .sort((a, b) => b.period.localeCompare(a.period));
        return json(200, { ...view(alert), firings });
      },
      'PUT /v1/alerts/{alertId}': async (event) => {
        const tenantId = requireTenant(event);
        const id = parseInput(alertIdSchema, event.pathParameters?.alertId, 'alertId');
        const definition = parseInput(alertDefinitionSchema, jsonBody(event));
        if (
          'meter' in definition &&
          definition.meter !== undefined &&
          !(await deps.meters(tenantId)).some((m) => m.key === definition.meter)
        ) {
          throw new ClientError('NOT_FOUND', `meter "${definition.meter}" is not defined for this tenant`, 'meter');
        }
        const existing = (await deps.alerts.listAlerts(tenantId)).find((a) => a.id === id);
        const alert: Alert = { id, tenantId, ...definition, createdAt: existing?.createdAt ?? new Date(deps.now()).toISOString() };
        await deps.alerts.putAlert(alert);
        return json(existing ? 200 : 201, view(alert));
      },
      'DELETE /v1/alerts/{alertId}': async (event) => {
        const tenantId = requireTenant(event);
        const id = event.pathParameters?.alertId ?? '';
        if (!(await deps.alerts.deleteAlert(tenantId, id))) throw new ClientError('NOT_FOUND', `alert "${id}" does not exist`, 'alertId');
        return { statusCode: 204 };
      },

      /** The answer is the only time the secret is shown (and after a rotation). */
      'POST /v1/webhooks': async (event) => {
        const tenantId = requireTenant(event);
        const definition = await definitionOf(event);
        if ((await deps.webhooks.listEndpoints(tenantId)).length >= MAX_ENDPOINTS) {
          throw new ClientError('CONFLICT', `a tenant may register at most ${MAX_ENDPOINTS} webhook endpoints`);
        }
        const endpoint: WebhookEndpoint = {
          ...definition,
          id: newEndpointId(),
          tenantId,
          secret: newSecret(),
          previousSecrets: [],
          createdAt: new Date(deps.now()).toISOString(),
        };
        await deps.webhooks.putEndpoint(endpoint);
        return json(201, { ...endpointView(endpoint), secret: endpoint.secret });
      },
      'GET /v1/webhooks': async (event) =>
        json(200, { endpoints: (await deps.webhooks.listEndpoints(requireTenant(event))).map(endpointView) }),
      'GET /v1/webhooks/{endpointId}': async (event) => json(200, endpointView(await endpointOf(event))),
      'PUT /v1/webhooks/{endpointId}': async (event) => {
        // The definition is replaced as a whole; id, secrets and createdAt stay.
        const { description: _d, ...endpoint } = await endpointOf(event);
        const updated: WebhookEndpoint = { ...endpoint, ...(await definitionOf(event)) };
        await deps.webhooks.putEndpoint(updated);
        return json(200, endpointView(updated));
      },
      'DELETE /v1/webhooks/{endpointId}': async (event) => {
        const endpoint = await endpointOf(event);
        await deps.webhooks.deleteEndpoint(endpoint.tenantId, endpoint.id);
        return { statusCode: 204 };
      },
      'POST /v1/webhooks/{endpointId}/rotate-secret': async (event) => {
        const endpoint = await endpointOf(event);
        const { overlapHours } = parseInput(rotationSchema, event.body ? jsonBody(event) : {});
        const rotated = rotate(endpoint, overlapHours, deps.now());
        await deps.webhooks.putEndpoint(rotated);
        return json(200, { ...endpointView(rotated), secret: rotated.secret });
      },
      'GET /v1/webhooks/{endpointId}/deliveries': async (event) => {
        const endpoint = await endpointOf(event);
        const q = parseInput(deliveriesQuery, event.queryStringParameters ?? {});
        const page = await deps.webhooks.listDeliveries(endpoint.tenantId, endpoint.id, q.limit, q.cursor);
        return json(200, {
          deliveries: page.deliveries.map(({ tenantId: _t, ...d }) => ({ ...d, payload: JSON.parse(d.payload) })),
          ...(page.cursor ? { cursor: page.cursor } : {}),
        });
      },
      /** Sends a delivery again, whatever became of it: a fresh series of attempts with the same event id. */
      'POST /v1/webhooks/{endpointId}/deliveries/{deliveryId}/replay': async (event) => {
        const endpoint = await endpointOf(event);
        const id = event.pathParameters?.deliveryId ?? '';
        const found = await deps.webhooks.getDelivery(endpoint.tenantId, id);
        if (!found || found.endpointId !== endpoint.id)
          throw new ClientError('NOT_FOUND', `delivery ${id} does not exist for this endpoint`, 'deliveryId');
        const reopened = (await deps.webhooks.reopenDelivery(endpoint.tenantId, id))!;
        const now = new Date(deps.now()).toISOString();
        await deps.queue.send({ tenantId: endpoint.tenantId, deliveryId: id, dueAt: now, seriesStart: now }, 0);
        const { tenantId: _t, ...shown } = reopened;
        return json(202, { ...shown, payload: JSON.parse(shown.payload) });
      },

      /** A new recipient receives nothing until it follows the link in the verification mail sent now. */
      'POST /v1/email/recipients': async (event) => {
        const tenantId = requireTenant(event);
        const input = parseInput(recipientInputSchema, jsonBody(event));
        const existing = await deps.email.store.listRecipients(tenantId);
        if (existing.some((r) => r.address === input.address))
          throw new ClientError('CONFLICT', `${input.address} is already a recipient; PUT changes it`, 'address');
        if (existing.length >= MAX_RECIPIENTS)
          throw new ClientError('CONFLICT', `a tenant may name at most ${MAX_RECIPIENTS} email recipients`);
        const recipient: Recipient = {
          tenantId,
          address: input.address,
          role: input.role,
          categories: input.categories ?? defaultCategories[input.role],
          createdAt: new Date(deps.now()).toISOString(),
        };
        await deps.email.store.putRecipient(recipient);
        await verify(recipient);
        return json(201, recipientView(recipient));
      },
      'GET /v1/email/recipients': async (event) =>
        json(200, { recipients: (await deps.email.store.listRecipients(requireTenant(event))).map(recipientView) }),
      /** Changes what a recipient receives (and its role); its address and verification stay. */
      'PUT /v1/email/recipients/{address}': async (event) => {
        const recipient = await recipientOf(event);
        const update = parseInput(recipientUpdateSchema, jsonBody(event));
        const updated: Recipient = { ...recipient, ...update };
        await deps.email.store.putRecipient(updated);
        return json(200, recipientView(updated));
      },
      'DELETE /v1/email/recipients/{address}': async (event) => {
        const recipient = await recipientOf(event);
        await deps.email.store.deleteRecipient(recipient.tenantId, recipient.address);
        return { statusCode: 204 };
      },
      /** Sends the verification mail again (the last one may have expired or gone astray). */
      'POST /v1/email/recipients/{address}/verify': async (event) => {
        const recipient = await recipientOf(event);
        if (recipient.verifiedAt) throw new ClientError('CONFLICT', `${recipient.address} is verified already`, 'address');
        await verify(recipient);
        return json(202, recipientView(recipient));
      },
      /** The email log: every message to the tenant's recipients, newest first, with its attempts. */
      'GET /v1/email/messages': async (event) => {
        const tenantId = requireTenant(event);
        const q = parseInput(emailMessagesQuery, event.queryStringParameters ?? {});
        const emails = await deps.email.store.listEmails(tenantId, q.limit);
        return json(200, {
          messages: emails.map(({ tenantId: _t, subject, ...e }) => ({
            ...e,
            about: subject.kind === 'event' ? { eventId: subject.event.id, eventType: subject.event.type } : { verification: true },
          })),
        });
      },
    }),
  );
}
