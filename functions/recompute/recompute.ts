import { randomUUID } from 'node:crypto';
import * as z from 'zod';
import { ClientError } from '../../shared/kernel/errors.js';
import { instantText } from '../../shared/kernel/instants.js';
import { withoutLease } from '../../shared/kernel/leased-jobs.js';
import { toIso } from '../../shared/kernel/periods.js';
import type { Meter } from '../../shared/metering/meters.js';
import type { RecomputeJobs } from '../../shared/metering/ports.js';
import { emptyProgress, recomputeScope } from '../../shared/metering/recompute.js';
import type { RecomputeJob } from '../../shared/metering/recompute-job.js';
import { httpApi, json, jsonBody, parseInput, routes } from '../../shared/platform/http.js';
import { requireAdmin } from '../../shared/tenancy/access.js';
import { tenantIdSchema } from '../../shared/tenancy/tenants.js';

export interface RecomputeApiDependencies {
  jobs: Pick<RecomputeJobs, 'create' | 'get'>;
  /** The tenant's meters, or undefined when there is no such tenant. */
  meters(tenantId: string): Promise<Meter[] | undefined>;
  ledgerRetentionDays: number;
  now(): number;
}

export const recomputeRequestSchema = z
  .strictObject({
    meter: z.string().min(1).max(63).optional(),
    from: z.optional(instantText),
    to: z.optional(instantText),
    repair: z.boolean().default(false),
  })
  .refine((r) => !r.from || !r.to || Date.parse(r.from) < Date.parse(r.to), { message: 'from must be before to', path: ['to'] });

/**
 * POST /v1/admin/tenants/{tenantId}/recompute queues a recompute job (the worker runs it within a minute) and answers
 * 202 with it; GET /v1/admin/recompute/{jobId} shows its progress, and when done its drifts and repairs.
 */
export function createRecomputeApi(deps: RecomputeApiDependencies) {
  return httpApi(
    routes({
      'POST /v1/admin/tenants/{tenantId}/recompute': async (event) => {
        requireAdmin(event);
        const tenantId = parseInput(tenantIdSchema, event.pathParameters?.tenantId, 'tenantId');
        const request = parseInput(recomputeRequestSchema, jsonBody(event));
        const meters = await deps.meters(tenantId);
        if (!meters) throw new ClientError('NOT_FOUND', `tenant "${tenantId}" does not exist`, 'tenantId');
        if (request.meter && !meters.some((m) => m.key === request.meter))
          throw new ClientError('NOT_FOUND', `tenant "${tenantId}" has no meter "${request.meter}"`, 'meter');
        const now = deps.now();
        const { scope, limits } = recomputeScope(
          tenantId,
          {
            ...(request.meter ? { meter: request.meter } : {}),
            ...(request.from ? { from: Date.parse(request.from) } : {}),
            ...(request.to ? { to: Date.parse(request.to) } : {}),
          },
          now,
          deps.ledgerRetentionDays,
        );
        if (scope.from >= scope.to)
          throw new ClientError('INVALID_REQUEST', `the range ends before ${toIso(scope.from)}, beyond the ledger's retention`, 'to');
        const job: RecomputeJob = {
          jobId: randomUUID(),
          tenantId,
          ...(scope.meter ? { meter: scope.meter } : {}),
          from: toIso(scope.from),
          to: toIso(scope.to),
          repair: request.repair,
          status: 'queued',
          createdAt: toIso(now),
          attempts: 0,
          progress: emptyProgress(),
          limits,
          drifts: [],
        };
        await deps.jobs.create(job);
        return json(202, withoutLease(job));
      },

      'GET /v1/admin/recompute/{jobId}': async (event) => {
        requireAdmin(event);
        const jobId = event.pathParameters?.jobId ?? '';
        const job = await deps.jobs.get(jobId);
        if (!job) throw new ClientError('NOT_FOUND', `no recompute job "${jobId}"`, 'jobId');
        return json(200, withoutLease(job));
      },
    }),
  );
}
