import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { ClientError } from '../../shared/kernel/errors.js';
import { oldestOpenInstant } from '../../shared/kernel/periods.js';
import {
  type EventResult,
  eventsOf,
  MAX_EVENTS_PER_REQUEST,
  MAX_REQUEST_BYTES,
  type UsageEvent,
  validateEvent,
} from '../../shared/metering/events.js';
import type { Meter } from '../../shared/metering/meters.js';
import type { SendOutcome } from '../../shared/metering/ports.js';
import { type HttpEvent, header, httpApi, json, parseInput, rawBody } from '../../shared/platform/http.js';
import { logger, metrics } from '../../shared/platform/observability.js';
import { requireAdmin, requireTenant } from '../../shared/tenancy/access.js';
import { tenantIdSchema } from '../../shared/tenancy/tenants.js';

export interface IngestDependencies {
  meters(tenantId: string): Promise<ReadonlyMap<string, Meter>>;
  /** Ids of these events already counted; best effort, the consumer has the final word. */
  existing(tenantId: string, ids: string[]): Promise<Set<string>>;
  enqueue(events: UsageEvent[]): Promise<SendOutcome>;
  graceHours: number;
  /** True once the tenant has an invoice: its first import is over, and the open-period rule holds for every import. */
  invoiced(tenantId: string): Promise<boolean>;
  now(): number;
}

/** The admin's import of a tenant's history: the same validation, queue and idempotency as POST /v1/events. */
const IMPORT_ROUTE = 'POST /v1/admin/tenants/{tenantId}/events';

type Status = 'accepted' | 'duplicate' | 'rejected' | 'failed';
interface Result {
  index: number;
  id?: string;
  status: Status;
  code?: string;
  message?: string;
  field?: string;
}

const CONTENT_TYPES = new Set(['application/json', 'application/cloudevents+json', 'application/cloudevents-batch+json']);

/**
 * POST /v1/events (and the admin's import route): validates each event, answers for each, and accepts only what
 * SQS has made durable.
 */
export function createIngest(deps: IngestDependencies) {
  return httpApi(async (event) => {
    const imported = event.routeKey === IMPORT_ROUTE;
    const tenantId = imported
      ? (requireAdmin(event), parseInput(tenantIdSchema, event.pathParameters?.tenantId, 'tenantId'))
      : requireTenant(event);
    const items = readEvents(event);
    const now = deps.now();
    const ctx = { tenantId, meters: await deps.meters(tenantId), now, oldestOpen: await oldestOpen(deps, event, tenantId, now) };
    const checked: EventResult[] = items.map((item, index) => validateEvent(item, index, ctx));

    const valid = checked.filter((r) => r.status === 'valid');
    const known = await deps
      .existing(
        tenantId,
        valid.map((r) => r.id),
      )
      .catch((error: unknown) => {
        logger.warn('duplicate lookup failed; the consumer will deduplicate', { error: error as Error });
        return new Set<string>();
      });
    const seen = new Set<string>();
    const results: Result[] = [];
    const toSend: UsageEvent[] = [];
    for (const r of checked) {
      if (r.status === 'rejected') {
        results.push({ index: r.index, id: r.id, status: 'rejected', code: r.code, message: r.message, field: r.field });
      } else if (seen.has(r.id) || known.has(r.id)) {
        results.push({ index: r.index, id: r.id, status: 'duplicate' });
      } else {
        seen.add(r.id);
        toSend.push(r.event);
        results.push({ index: r.index, id: r.id, status: 'accepted' });
      }
    }

    const { failed } = toSend.length > 0 ? await deps.enqueue(toSend) : { failed: [] };
    const notDurable = new Set(failed.map((e) => e.id));
    for (const r of results) {
      if (r.status === 'accepted' && notDurable.has(r.id!)) {
        Object.assign(r, { status: 'failed', code: 'NOT_DURABLE', message: 'the event could not be queued; retry it with the same id' });
      }
    }
    const count = (s: Status) => results.filter((r) => r.status === s).length;
    const summary = { accepted: count('accepted'), duplicates: count('duplicate'), rejected: count('rejected'), failed: count('failed') };
    metrics.addMetric('EventsAccepted', MetricUnit.Count, summary.accepted);
    metrics.addMetric('EventsRejected', MetricUnit.Count, summary.rejected);
    metrics.addMetric('EventsDuplicate', MetricUnit.Count, summary.duplicates);
    metrics.publishStoredMetrics();

    if (summary.failed > 0) {
      logger.error('events could not be made durable', { tenantId, failed: summary.failed });
      return json(
        503,
        { code: 'SERVICE_UNAVAILABLE', message: 'some events could not be queued; retry them with the same ids', ...summary, results },
        { 'retry-after': '1' },
      );
    }
    return json(202, { ...summary, results });
  });
}

/**
 * Events before the open period are refused (their periods are invoiced, or about to be). A tenant's first import
 * (`?firstImport=true` on the admin route, before the tenant's first invoice) may go back as far as it needs: no
 * period of the tenant has been closed yet, so none is reopened.
 */
async function oldestOpen(deps: IngestDependencies, event: HttpEvent, tenantId: string, now: number): Promise<number> {
  if (event.routeKey !== IMPORT_ROUTE || event.queryStringParameters?.firstImport !== 'true')
    return oldestOpenInstant(now, deps.graceHours);
  if (await deps.invoiced(tenantId)) {
    throw new ClientError(
      'CONFLICT',
      `tenant ${tenantId} has been invoiced: its first import is over, and imports keep to the open period`,
      'firstImport',
    );
  }
  return Number.NEGATIVE_INFINITY;
}

function readEvents(event: HttpEvent): unknown[] {
  const type = (header(event, 'content-type') ?? 'application/json').split(';')[0]!.trim().toLowerCase();
  if (!CONTENT_TYPES.has(type)) {
    throw new ClientError(
      'UNSUPPORTED_MEDIA_TYPE',
      `content type ${type} is not supported; use application/json or application/cloudevents(-batch)+json`,
    );
  }
  const body = rawBody(event);
  if (body.length > MAX_REQUEST_BYTES) {
    throw new ClientError('PAYLOAD_TOO_LARGE', `the body is ${body.length} bytes; the limit is ${MAX_REQUEST_BYTES}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new ClientError('INVALID_JSON', 'the request body is not valid JSON');
  }
  if (type === 'application/cloudevents-batch+json' && !Array.isArray(parsed)) {
    throw new ClientError('INVALID_REQUEST', 'a CloudEvents batch must be a JSON array');
  }
  const items = eventsOf(parsed);
  if (!items) throw new ClientError('INVALID_REQUEST', 'send an event object, an array of events, or { "events": [...] }');
  if (items.length === 0) throw new ClientError('INVALID_REQUEST', 'the batch holds no events', 'events');
  if (items.length > MAX_EVENTS_PER_REQUEST) {
    throw new ClientError('BATCH_TOO_LARGE', `the batch holds ${items.length} events; the limit is ${MAX_EVENTS_PER_REQUEST}`, 'events');
  }
  return items;
}
