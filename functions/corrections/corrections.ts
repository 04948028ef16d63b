import type { DomainEvent } from '../../shared/events/domain-events.js';
import { ClientError } from '../../shared/kernel/errors.js';
import { type Correction, type CorrectionRequest, correctedEvent, correctionRequestSchema } from '../../shared/metering/corrections.js';
import type { UsageEvent } from '../../shared/metering/events.js';
import type { Meter } from '../../shared/metering/meters.js';
import { usageCorrected } from '../../shared/metering/usage-stream.js';
import { type HttpEvent, httpApi, json, jsonBody, parseInput } from '../../shared/platform/http.js';
import { requireAdminTenant, requireTenant } from '../../shared/tenancy/access.js';

export interface CorrectionsDependencies {
  meters(tenantId: string): Promise<Meter[]>;
  apply(
    tenantId: string,
    correctionId: string,
    eventId: string,
    decide: (entry: UsageEvent) => Correction,
  ): Promise<{ correction: Correction; duplicate: boolean }>;
  tenantExists(tenantId: string): Promise<boolean>;
  /** Whether the tenant takes the usage stream for the meter, and the publisher that announces `usage.corrected`. */
  streams(tenantId: string, meter: string): Promise<boolean>;
  publish(event: DomainEvent): Promise<void>;
  now(): number;
}

const ADMIN_ROUTE = 'POST /v1/admin/tenants/{tenantId}/events/{id}/corrections';

/**
 * POST /v1/events/{id}/corrections (the tenant's key) and its admin twin: void an event or replace its value or
 * properties. 201 with the correction (both versions of the event); a repeated correction id answers 200 with the
 * correction it already made.
 */
export function createCorrectionsApi(deps: CorrectionsDependencies) {
  return httpApi(async (event: HttpEvent) => {
    const admin = event.routeKey === ADMIN_ROUTE;
    const tenantId = admin ? await requireAdminTenant(event, event.pathParameters?.tenantId, deps.tenantExists) : requireTenant(event);
    const eventId = event.pathParameters?.id ?? '';
    const request: CorrectionRequest = parseInput(correctionRequestSchema, jsonBody(event));
    const meters = await deps.meters(tenantId);
    const now = deps.now();
    const { correction, duplicate } = await deps.apply(tenantId, request.correctionId, eventId, (entry) => {
      const meter = meters.find((m) => m.key === entry.meter);
      if (!meter) throw new ClientError('CONFLICT', `meter "${entry.meter}" of event ${eventId} no longer exists`, 'id');
      const counted = pick(entry);
      const after = correctedEvent(counted, meter, request, now);
      return {
        correctionId: request.correctionId,
        tenantId,
        eventId,
        action: request.action,
        ...(request.reason ? { reason: request.reason } : {}),
        correctedAt: new Date(now).toISOString(),
        by: admin ? 'admin' : 'tenant',
        before: counted,
        ...(after ? { after } : {}),
      };
    });
    // Announced again on a repeated correction id (same event id), so a retry after a failed announcement delivers it.
    if (await deps.streams(tenantId, correction.before.meter)) await deps.publish(usageCorrected(correction));
    return json(duplicate ? 200 : 201, correction);
  });
}

/** The event as counted: the ledger entry without its storage attributes. */
function pick(e: UsageEvent): UsageEvent {
  const out: UsageEvent = {
    tenantId: e.tenantId,
    id: e.id,
    meter: e.meter,
    aggregation: e.aggregation,
    timestamp: e.timestamp,
    value: e.value,
    groupKey: e.groupKey,
    payloadHash: e.payloadHash,
    receivedAt: e.receivedAt,
  };
  if (e.subject !== undefined) out.subject = e.subject;
  if (e.properties !== undefined) out.properties = e.properties;
  return out;
}
