import * as z from 'zod';
import { ClientError } from '../../shared/kernel/errors.js';
import { instantRange, instantText, MAX_INSTANT, MIN_INSTANT } from '../../shared/kernel/instants.js';
import { parseJson } from '../../shared/kernel/json.js';
import { toIso } from '../../shared/kernel/periods.js';
import { countersOf } from '../../shared/metering/aggregation.js';
import type { LedgerEntry, Page, QuarantineQuery, RejectedEvent, RejectionQuery } from '../../shared/metering/ports.js';
import { type HttpEvent, httpApi, json, parseInput, routes } from '../../shared/platform/http.js';
import { authorize, requireTenant } from '../../shared/tenancy/access.js';

export interface EventsDependencies {
  event(tenantId: string, id: string): Promise<LedgerEntry | undefined>;
  quarantined(q: QuarantineQuery): Promise<Page<LedgerEntry>>;
  rejected(q: RejectionQuery): Promise<{ items: RejectedEvent[]; cursor?: string }>;
}

export const listQuery = z.object({
  from: z.optional(instantText),
  to: z.optional(instantText),
  cursor: z.string().max(2048).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export const eventsQuery = listQuery.extend({ status: z.enum(['rejected', 'quarantined']) });

/** A query's receipt-time range as the stores key it (ISO 8601 UTC); open ends take everything. */
export function range(q: { from?: string; to?: string }): { from: string; to: string } {
  const { from, to } = instantRange(q, { from: MIN_INSTANT, to: MAX_INSTANT });
  return { from: toIso(from), to: toIso(to) };
}

/** Methods of the catch-all routes that answer unknown paths; OPTIONS stays with API Gateway's CORS preflight. */
const CATCH_ALL_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'];

/** An unknown path: the key is checked as for any route there (a read-only key may not even probe a write), then 404. */
async function unknownRoute(event: HttpEvent): Promise<never> {
  const route = `${event.requestContext.http.method} ${event.rawPath}`;
  authorize({ ...event, routeKey: route });
  throw new ClientError('NOT_FOUND', `no route for ${route}`);
}

/** Tenant look-ups: one event by id, and the events that were rejected or quarantined; and the answer to unknown paths. */
export function createEventsApi(deps: EventsDependencies) {
  return httpApi(
    routes({
      ...Object.fromEntries(CATCH_ALL_METHODS.map((m) => [`${m} /{proxy+}`, unknownRoute])),
      'GET /v1/events/{id}': async (event) => {
        const tenantId = requireTenant(event);
        const id = event.pathParameters?.id ?? '';
        const entry = await deps.event(tenantId, id);
        if (!entry) {
          throw new ClientError(
            'NOT_FOUND',
            `no event "${id}" was counted or quarantined (an accepted event is counted within seconds; rejected ones are listed by GET /v1/events?status=rejected)`,
            'id',
          );
        }
        return json(200, eventView(entry));
      },

      'GET /v1/events': async (event) => {
        const tenantId = requireTenant(event);
        const q = parseInput(eventsQuery, event.queryStringParameters ?? {});
        const { from, to } = range(q);
        const page = { tenantId, from, to, limit: q.limit, ...(q.cursor ? { cursor: q.cursor } : {}) };
        if (q.status === 'rejected') {
          const r = await deps.rejected(page);
          return json(200, {
            status: 'rejected',
            events: r.items.map((e) => ({ status: 'rejected', ...e })),
            ...(r.cursor ? { cursor: r.cursor } : {}),
          });
        }
        const r = await deps.quarantined(page);
        return json(200, { status: 'quarantined', events: r.items.map(eventView), ...(r.cursor ? { cursor: r.cursor } : {}) });
      },
    }),
  );
}

/** An event as the API shows it: its payload (numbers exactly as sent), its status and the counters it moved. */
/** One event of the ledger as the API shows it: its status, payload and the counters it moved. */
export const eventViewSchema = z.object({
  id: z.string(),
  status: z.enum(['counted', 'quarantined', 'voided']),
  meter: z.string(),
  timestamp: z.string(),
  value: z.string(),
  subject: z.string().optional(),
  /** Numbers exactly as sent. */
  properties: z.unknown().optional(),
  receivedAt: z.string(),
  countedAt: z.string().optional(),
  correctedAt: z.string().optional(),
  quarantine: z.object({ reason: z.string().optional(), at: z.string().optional() }).optional(),
  counters: z.array(z.object({ meter: z.string(), granularity: z.string(), period: z.string(), group: z.string() })),
});

export function eventView(e: LedgerEntry): z.infer<typeof eventViewSchema> {
  return {
    id: e.id,
    status: e.voidedAt ? 'voided' : e.status,
    meter: e.meter,
    timestamp: e.timestamp,
    value: e.value,
    ...(e.subject !== undefined ? { subject: e.subject } : {}),
    ...(e.properties !== undefined ? { properties: parseJson(e.properties) } : {}),
    receivedAt: e.receivedAt,
    ...(e.countedAt ? { countedAt: e.countedAt } : {}),
    ...(e.correctedAt ? { correctedAt: e.correctedAt } : {}),
    ...(e.status === 'quarantined' ? { quarantine: { reason: e.quarantineReason, at: e.quarantinedAt } } : {}),
    counters:
      e.status === 'counted' && !e.voidedAt
        ? countersOf(e).map((c) => ({ meter: c.meter, granularity: c.granularity, period: c.period, group: c.groupKey }))
        : [],
  };
}
