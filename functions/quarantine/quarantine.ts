import * as z from 'zod';
import { ClientError } from '../../shared/kernel/errors.js';
import type { LedgerEntry, Page, QuarantineQuery, ReplayOutcome } from '../../shared/metering/ports.js';
import { httpApi, json, parseInput, routes } from '../../shared/platform/http.js';
import { logger } from '../../shared/platform/observability.js';
import { requireAdmin, requireAdminTenant } from '../../shared/tenancy/access.js';
import { eventView, eventViewSchema, listQuery, range } from '../events/events.js';

/** GET /v1/admin/quarantine: quarantined events of every tenant (or one), newest first, a page at a time. */
export const quarantinedListSchema = z.object({
  events: z.array(eventViewSchema.extend({ tenantId: z.string() })),
  cursor: z.string().optional(),
});

export interface QuarantineDependencies {
  quarantined(q: QuarantineQuery): Promise<Page<LedgerEntry>>;
  replay(tenantId: string, id: string): Promise<ReplayOutcome>;
  tenantExists(tenantId: string): Promise<boolean>;
}

export const adminListQuery = listQuery.extend({ tenantId: z.string().optional() });

/** Operators: quarantined events across tenants, and their replay once the cause is fixed. */
export function createQuarantineApi(deps: QuarantineDependencies) {
  return httpApi(
    routes({
      'GET /v1/admin/quarantine': async (event) => {
        requireAdmin(event);
        const q = parseInput(adminListQuery, event.queryStringParameters ?? {});
        const tenantId = q.tenantId === undefined ? undefined : await requireAdminTenant(event, q.tenantId, deps.tenantExists);
        const r = await deps.quarantined({
          ...range(q),
          limit: q.limit,
          ...(tenantId ? { tenantId } : {}),
          ...(q.cursor ? { cursor: q.cursor } : {}),
        });
        return json(200, {
          events: r.items.map((e) => ({ tenantId: e.tenantId, ...eventView(e) })),
          ...(r.cursor ? { cursor: r.cursor } : {}),
        });
      },

      'POST /v1/admin/tenants/{tenantId}/events/{id}/replay': async (event) => {
        const tenantId = await requireAdminTenant(event, event.pathParameters?.tenantId, deps.tenantExists);
        const id = event.pathParameters?.id ?? '';
        const outcome = await deps.replay(tenantId, id);
        logger.info('quarantined event replayed', { tenantId, eventId: id, outcome });
        switch (outcome.status) {
          case 'not-quarantined':
            throw new ClientError('NOT_FOUND', `tenant "${tenantId}" has no quarantined event "${id}"`);
          case 'failed':
            throw new ClientError('SERVICE_UNAVAILABLE', 'the replay could not be written; try again');
          default:
            return json(200, { tenantId, id, ...outcome });
        }
      },
    }),
  );
}
