import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { ClientError, type EventRejectionCode } from '../../shared/kernel/errors.js';
import { oldestOpenInstant } from '../../shared/kernel/periods.js';
import * as z from '../../shared/kernel/zod-mini.js';
import { type EventResult, eventKey, meterNamed, type UsageEvent, validateEvent } from '../../shared/metering/events.js';
import type { Meter } from '../../shared/metering/meters.js';
import type { RejectionBatch, SendOutcome } from '../../shared/metering/ports.js';
import { type HttpEvent, httpApi, json } from '../../shared/platform/http.js';
import { logger, metrics } from '../../shared/platform/observability.js';
import { actsFor, authorize, type Caller, requireAdminTenant } from '../../shared/tenancy/access.js';
import { tenantIdSchema } from '../../shared/tenancy/tenants.js';
import { readEvents } from './body.js';
import { OPENMETER_ROUTE, openMeterAnswer, withCloudEventDefaults } from './openmeter.js';
import { REPLAY_ROUTE, type ReplayDependencies, replayRejections } from './replay.js';

export interface IngestDependencies extends ReplayDependencies {
  /** The tenant's meters; `named` are the meters the request names, re-read when the definitions lack one; `fresh` reads now. */
  meters(tenantId: string, named?: Iterable<string>, fresh?: boolean): Promise<ReadonlyMap<string, Meter>>;
  /** Whether the tenant exists (service keys name any tenant). */
  tenantExists(tenantId: string): Promise<boolean>;
  /** Payload hashes of those of these ids already in the ledger; best effort, the consumer has the final word. */
  existing(tenantId: string, ids: string[]): Promise<Map<string, string>>;
  enqueue(events: UsageEvent[]): Promise<SendOutcome>;
  /** Keeps the request's rejections for the tenant to list later. */
  recordRejections(batch: RejectionBatch): Promise<void>;
  graceHours: number;
  /** True once the tenant has an invoice: its first import is over, and the open-period rule holds for every import. */
  invoiced(tenantId: string): Promise<boolean>;
  now(): number;
}

/** The admin's import of a tenant's history: the same validation, queue and idempotency as POST /v1/events. */
const IMPORT_ROUTE = 'POST /v1/admin/tenants/{tenantId}/events';

/** What became of one event of a request, in request order. */
export const eventOutcomeSchema = z.object({
  index: z.int(),
  id: z.optional(z.string()),
  /** Service keys: the tenant the event was for. */
  tenant: z.optional(z.string()),
  status: z.enum(['accepted', 'duplicate', 'rejected', 'failed']),
  code: z.optional(z.string()),
  message: z.optional(z.string()),
  field: z.optional(z.string()),
});
type Result = z.infer<typeof eventOutcomeSchema>;
type Status = Result['status'];

export const ingestResponseSchema = z.object({
  accepted: z.int(),
  duplicates: z.int(),
  rejected: z.int(),
  failed: z.int(),
  results: z.array(eventOutcomeSchema),
});

/**
 * POST /v1/events (and the admin's import route): validates each event, answers for each, and accepts only what
 * SQS has made durable.
 * A tenant key's events are its tenant's; a service key's events each name their tenant (native `tenant`,
 * CloudEvents extension attribute `tenant`), so one request may carry usage of many tenants.
 */
export function createIngest(deps: IngestDependencies) {
  return httpApi(async (event) => {
    if (event.routeKey === OPENMETER_ROUTE) return openMeterAnswer(() => ingest(event, deps, true));
    const { status, body } =
      event.routeKey === REPLAY_ROUTE ? await replayRejections(event, deps, ingestItems) : await ingest(event, deps, false);
    return json(status, body, status === 503 ? { 'retry-after': '1' } : {});
  });
}

async function ingest(
  event: HttpEvent,
  deps: IngestDependencies,
  openMeter: boolean,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const caller = authorize(event);
  // The tenant every event belongs to: a tenant key's own, or the one an admin imports for; service keys name it per event.
  const own =
    event.routeKey === IMPORT_ROUTE
      ? await requireAdminTenant(event, event.pathParameters?.tenantId, deps.tenantExists)
      : caller.role === 'tenant'
        ? caller.tenantId
        : undefined;
  const items = readEvents(event).map((item) => (openMeter ? withCloudEventDefaults(item) : item));
  return ingestItems(event, deps, { caller, own, items, openMeter });
}

/** Events of a request (or of a replay), from validation to the answer: the one path every accepted event takes. */
export async function ingestItems(
  event: HttpEvent,
  deps: IngestDependencies,
  { caller, own, items, openMeter }: { caller: Caller; own: string | undefined; items: unknown[]; openMeter: boolean },
): Promise<{ status: number; body: Record<string, unknown> }> {
  const now = deps.now();
  const oldestOpen = await oldestOpenFor(deps, event, own, now);
  const tenantsFound = await existingTenants(items, caller, deps, openMeter);
  const routed = items.map((item, index) => routeToTenant(item, index, caller, own, tenantsFound, openMeter));
  const tenants = [...new Set(routed.flatMap((r) => ('tenantId' in r ? [r.tenantId] : [])))];
  const namedMeters = (t: string) =>
    routed.flatMap((r) => ('tenantId' in r && r.tenantId === t ? [meterNamed(r.item)] : [])).filter((m) => m !== undefined);
  const meters = new Map(await Promise.all(tenants.map(async (t) => [t, await deps.meters(t, namedMeters(t))] as const)));
  const checked = routed.map((r): EventResult & { tenantId?: string } =>
    'rejected' in r
      ? r.rejected
      : {
          ...validateEvent(r.item, r.index, { tenantId: r.tenantId, meters: meters.get(r.tenantId)!, now, oldestOpen }),
          tenantId: r.tenantId,
        },
  );

  const known = new Map<string, string>();
  await Promise.all(
    tenants.map(async (t) => {
      const ids = checked.flatMap((r) => (r.status === 'valid' && r.tenantId === t ? [r.id] : []));
      const found = await deps.existing(t, ids).catch((error: unknown) => {
        logger.warn('duplicate lookup failed; the consumer will deduplicate', { error: error as Error });
        return new Map<string, string>();
      });
      for (const [id, hash] of found) known.set(eventKey({ tenantId: t, id }), hash);
    }),
  );
  const seen = new Map<string, string>();
  const results: Result[] = [];
  const toSend: UsageEvent[] = [];
  const named = caller.role === 'service';
  for (const r of checked) {
    const tenant = named && r.tenantId ? { tenant: r.tenantId } : {};
    if (r.status === 'rejected') {
      results.push({ index: r.index, id: r.id, ...tenant, status: 'rejected', code: r.code, message: r.message, field: r.field });
      continue;
    }
    const key = eventKey(r.event);
    const earlier = seen.get(key) ?? known.get(key);
    if (earlier === undefined) {
      seen.set(key, r.event.payloadHash);
      toSend.push(r.event);
      results.push({ index: r.index, id: r.id, ...tenant, status: 'accepted' });
    } else if (earlier === r.event.payloadHash) {
      results.push({ index: r.index, id: r.id, ...tenant, status: 'duplicate' });
    } else {
      const message = `event "${r.id}" was already received with a different payload; the first one stands (send a new id for a new event)`;
      results.push({ index: r.index, id: r.id, ...tenant, status: 'rejected', code: 'ID_REUSED', message });
    }
  }

  // Recorded while SQS takes the accepted events, so the record costs the request no time of its own.
  const sent = (i: number) => {
    const r = routed[i]!;
    return 'item' in r ? JSON.stringify(r.item) : undefined;
  };
  const recorded = recordRejections(deps, event, checked, results, sent, now);
  const { failed } = toSend.length > 0 ? await deps.enqueue(toSend) : { failed: [] };
  await recorded;
  const notDurable = new Set(failed.map(eventKey));
  for (const [i, r] of results.entries()) {
    const c = checked[i]!;
    if (r.status === 'accepted' && c.status === 'valid' && notDurable.has(eventKey(c.event))) {
      Object.assign(r, { status: 'failed', code: 'NOT_DURABLE', message: 'the event could not be queued; retry it with the same id' });
    }
  }
  const count = (s: Status) => results.filter((r) => r.status === s).length;
  const summary = { accepted: count('accepted'), duplicates: count('duplicate'), rejected: count('rejected'), failed: count('failed') };
  metrics.addMetric('EventsAccepted', MetricUnit.Count, summary.accepted);
  metrics.addMetric('EventsRejected', MetricUnit.Count, summary.rejected);
  metrics.addMetric('EventsDuplicate', MetricUnit.Count, summary.duplicates);
  metrics.addMetric('EventsIdReused', MetricUnit.Count, results.filter((r) => r.code === 'ID_REUSED').length);
  metrics.publishStoredMetrics();

  if (summary.failed > 0) {
    logger.error('events could not be made durable', { tenants, failed: summary.failed });
    return {
      status: 503,
      body: { code: 'SERVICE_UNAVAILABLE', message: 'some events could not be queued; retry them with the same ids', ...summary, results },
    };
  }
  return { status: 202, body: { ...summary, results } };
}

/**
 * Keeps each tenant's rejections for it to list later. The answer already tells the client; the record is for
 * looking back, so losing it must not fail the request. Events whose tenant could not be told are in the answer only.
 */
async function recordRejections(
  deps: IngestDependencies,
  event: HttpEvent,
  checked: readonly (EventResult & { tenantId?: string })[],
  results: readonly Result[],
  sent: (index: number) => string | undefined,
  now: number,
): Promise<void> {
  const byTenant = new Map<string, RejectionBatch['rejections']>();
  for (const [i, r] of results.entries()) {
    const tenantId = checked[i]!.tenantId;
    if (r.status !== 'rejected' || tenantId === undefined) continue;
    const { index, id, code, field, message } = r;
    // An event refused for its meter is kept as sent, to be replayed once the meter exists.
    const kept = code === 'UNKNOWN_METER' ? sent(i) : undefined;
    byTenant.set(tenantId, [
      ...(byTenant.get(tenantId) ?? []),
      { index, id, code: code!, field, message: message!, ...(kept !== undefined ? { event: kept } : {}) },
    ]);
  }
  await Promise.all(
    [...byTenant].map(async ([tenantId, rejections]) => {
      const codes: Record<string, number> = {};
      for (const r of rejections) codes[r.code] = (codes[r.code] ?? 0) + 1;
      logger.info('events rejected', { tenantId, rejected: rejections.length, codes, first: rejections[0] });
      await deps
        .recordRejections({
          tenantId,
          receivedAt: new Date(now).toISOString(),
          requestId: event.requestContext?.requestId ?? String(now),
          rejections,
        })
        .catch((error: unknown) => logger.warn('rejections could not be recorded', { error: error as Error, tenantId }));
    }),
  );
}

/**
 * Events before the open period are refused (their periods are invoiced, or about to be). A tenant's first import
 * (`?firstImport=true` on the admin route, before the tenant's first invoice) may go back as far as it needs: no
 * period of the tenant has been closed yet, so none is reopened.
 */
async function oldestOpenFor(deps: IngestDependencies, event: HttpEvent, tenantId: string | undefined, now: number): Promise<number> {
  if (event.routeKey !== IMPORT_ROUTE || event.queryStringParameters?.firstImport !== 'true')
    return oldestOpenInstant(now, deps.graceHours);
  if (await deps.invoiced(tenantId!)) {
    throw new ClientError(
      'CONFLICT',
      `tenant ${tenantId} has been invoiced: its first import is over, and imports keep to the open period`,
      'firstImport',
    );
  }
  return Number.NEGATIVE_INFINITY;
}

type Routed = { index: number; tenantId: string; item: unknown } | { rejected: EventResult & { status: 'rejected' } };

/**
 * The tenant an event is for, and the event without the attribute that named it. Native events name it
 * in `tenant`; CloudEvents in the extension attribute `tenant`, leaving `subject` to mean what it means
 * for a tenant's own events (the customer or user within the tenant).
 */
function routeToTenant(
  item: unknown,
  index: number,
  caller: Caller,
  own: string | undefined,
  known: ReadonlySet<string>,
  subjectIsTenant: boolean,
): Routed {
  const fields = typeof item === 'object' && item !== null && !Array.isArray(item) ? (item as Record<string, unknown>) : undefined;
  const reject = (code: EventRejectionCode, message: string): Routed => ({
    rejected: { index, ...(typeof fields?.id === 'string' ? { id: fields.id } : {}), status: 'rejected', code, message, field: 'tenant' },
  });
  const named = namedTenant(fields, caller, subjectIsTenant);
  if (named !== undefined && (typeof named !== 'string' || !tenantIdSchema.safeParse(named).success)) {
    return reject('INVALID_EVENT', 'tenant must be a tenant id: 2-63 lowercase letters, digits or dashes');
  }
  let stripped = item;
  if (fields?.tenant !== undefined) {
    const { tenant: _named, ...rest } = fields;
    stripped = rest;
  }
  if (own !== undefined) {
    if (named !== undefined && named !== own) return reject('TENANT_NOT_ALLOWED', `this request posts for tenant "${own}" only`);
    return { index, tenantId: own, item: stripped };
  }
  if (named === undefined) return reject('INVALID_EVENT', 'an event posted with a service API key names its tenant in "tenant"');
  if (!actsFor(caller, named)) return reject('TENANT_NOT_ALLOWED', `this service API key may not post for tenant "${named}"`);
  if (!known.has(named)) return reject('UNKNOWN_TENANT', `tenant "${named}" does not exist`);
  return { index, tenantId: named, item: stripped };
}

function namedTenant(fields: Record<string, unknown> | undefined, caller: Caller, subjectIsTenant: boolean): unknown {
  return fields?.tenant ?? (subjectIsTenant && caller.role === 'service' ? fields?.subject : undefined);
}

/** The tenants a service key's events name that exist, each looked up once per request. */
async function existingTenants(items: unknown[], caller: Caller, deps: IngestDependencies, subjectIsTenant: boolean): Promise<Set<string>> {
  if (caller.role !== 'service') return new Set();
  const names = new Set<string>();
  for (const item of items) {
    const named = namedTenant(
      typeof item === 'object' && item !== null ? (item as Record<string, unknown>) : undefined,
      caller,
      subjectIsTenant,
    );
    if (typeof named === 'string' && actsFor(caller, named) && tenantIdSchema.safeParse(named).success) names.add(named);
  }
  const found = await Promise.all([...names].map(async (t) => ((await deps.tenantExists(t)) ? [t] : [])));
  return new Set(found.flat());
}
