import { ClientError } from '../../shared/kernel/errors.js';
import { instantRange, instantText, MAX_INSTANT, MIN_INSTANT } from '../../shared/kernel/instants.js';
import { parseJson } from '../../shared/kernel/json.js';
import { toIso } from '../../shared/kernel/periods.js';
import * as z from '../../shared/kernel/zod-mini.js';
import { MAX_EVENTS_PER_REQUEST, meterNamed } from '../../shared/metering/events.js';
import type { KeptEventsQuery } from '../../shared/metering/ports.js';
import { type HttpEvent, jsonBody, parseInput } from '../../shared/platform/http.js';
import { authorize, requireAdminTenant } from '../../shared/tenancy/access.js';
import type { IngestDependencies, ingestItems } from './ingest.js';

export const REPLAY_ROUTE = 'POST /v1/admin/tenants/{tenantId}/rejections/replay';

export const replayRequestSchema = z.strictObject({
  /** The meter the events named, which did not exist when they were sent. */
  meter: z.string().check(z.minLength(1), z.maxLength(63)),
  /** When the rejected events were received; open ends take everything kept. */
  from: z.optional(instantText),
  to: z.optional(instantText),
});

export interface ReplayDependencies {
  /** The events as sent of a tenant's rejections of one code, oldest first. */
  keptEvents(q: KeptEventsQuery): Promise<string[]>;
}

/**
 * An admin's replay of a tenant's events refused as UNKNOWN_METER, once the meter exists: the events as they were sent
 * take ingest's path again (validation against the meter as it is now, the open period, the queue), so each is counted
 * once by its id however often it was sent or replayed; an event counted since answers `duplicate`.
 */
export async function replayRejections(
  event: HttpEvent,
  deps: IngestDependencies & ReplayDependencies,
  ingest: typeof ingestItems,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const tenantId = await requireAdminTenant(event, event.pathParameters?.tenantId, deps.tenantExists);
  const q = parseInput(replayRequestSchema, jsonBody(event));
  const { from, to } = instantRange(q, { from: MIN_INSTANT, to: MAX_INSTANT });
  // Read now: the meter may have been defined a moment ago, after a request that found it missing.
  if (!(await deps.meters(tenantId, [q.meter], true)).has(q.meter)) {
    throw new ClientError('NOT_FOUND', `meter "${q.meter}" is not defined for tenant "${tenantId}"; define it, then replay`, 'meter');
  }
  const kept = await deps.keptEvents({ tenantId, code: 'UNKNOWN_METER', from: toIso(from), to: toIso(to) });
  const items = kept.map((text) => parseJson(text)).filter((item) => meterNamed(item) === q.meter);
  const caller = authorize(event);
  const totals = { accepted: 0, duplicates: 0, rejected: 0, failed: 0 };
  const results: unknown[] = [];
  let status = 202;
  for (let i = 0; i < items.length; i += MAX_EVENTS_PER_REQUEST) {
    const part = await ingest(event, deps, { caller, own: tenantId, items: items.slice(i, i + MAX_EVENTS_PER_REQUEST), openMeter: false });
    for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += part.body[k] as number;
    results.push(...(part.body.results as { index: number }[]).map((r) => ({ ...r, index: r.index + i })));
    if (part.status === 503) status = 503;
  }
  return { status, body: { meter: q.meter, ...totals, results } };
}
