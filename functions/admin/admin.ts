import * as z from 'zod';
import { ClientError } from '../../shared/kernel/errors.js';
import { meterDefinitionSchema, meterKeySchema } from '../../shared/metering/meters.js';
import { type HttpEvent, httpApi, json, jsonBody, parseInput as parse, routes } from '../../shared/platform/http.js';
import { requireAdmin } from '../../shared/tenancy/access.js';
import { issueApiKey, type KeyOwner } from '../../shared/tenancy/api-keys.js';
import type { RateLimitStore, TenantDirectory } from '../../shared/tenancy/ports.js';
import { effectiveRateLimits, serviceKeySubject, tenantSubject } from '../../shared/tenancy/rate-limits.js';
import { newTenantSchema, rateLimitSettingsSchema } from '../../shared/tenancy/requests.js';
import { tenantIdSchema, tenantScopeSchema } from '../../shared/tenancy/tenants.js';

export interface AdminDependencies {
  directory: TenantDirectory;
  rateLimits: Pick<RateLimitStore, 'limits' | 'setLimits'>;
  /** Epoch milliseconds. */
  now(): number;
  newTenantId(): string;
}

const keyName = z.string().min(1).max(100).default('default');
export const keyRequest = z.strictObject({ name: keyName });
export const tenantKeyRequest = z.strictObject({ name: keyName, scope: z._default(tenantScopeSchema, 'full') });
/** A service key acts for every tenant, or for the listed ones only. */
export const serviceKeyRequest = z.strictObject({ name: keyName, tenants: z.array(tenantIdSchema).min(1).max(1000).optional() });
const issued = 'store the token now: it is shown once and kept only as a hash';

/** Tenants, meters and keys, for admin keys only. */
export function createAdminApi({ directory, rateLimits, now, newTenantId }: AdminDependencies) {
  const tenantOf = async (event: HttpEvent) => {
    requireAdmin(event);
    const id = event.pathParameters?.tenantId ?? '';
    const tenant = await directory.getTenant(id);
    if (!tenant) throw new ClientError('NOT_FOUND', `tenant "${id}" does not exist`, 'tenantId');
    return tenant;
  };
  const revoke = async (owner: KeyOwner, event: HttpEvent) => {
    const keyId = event.pathParameters?.keyId ?? '';
    if (!(await directory.revokeApiKey(owner, keyId, new Date(now()).toISOString()))) {
      throw new ClientError('NOT_FOUND', `API key "${keyId}" does not exist here`, 'keyId');
    }
    return { statusCode: 204 };
  };

  return httpApi(
    routes({
      'POST /v1/admin/tenants': async (event) => {
        requireAdmin(event);
        const input = parse(newTenantSchema, jsonBody(event));
        const tenant = { id: input.id ?? newTenantId(), name: input.name, createdAt: new Date(now()).toISOString() };
        if (!(await directory.createTenant(tenant))) throw new ClientError('CONFLICT', `tenant "${tenant.id}" already exists`, 'id');
        return json(201, tenant);
      },
      'GET /v1/admin/tenants': async (event) => {
        requireAdmin(event);
        return json(200, { tenants: await directory.listTenants() });
      },
      'GET /v1/admin/tenants/{tenantId}': async (event) => {
        const tenant = await tenantOf(event);
        const [meters, limits] = await Promise.all([directory.listMeters(tenant.id), rateLimits.limits(tenantSubject(tenant.id))]);
        return json(200, { ...tenant, meters, rateLimits: effectiveRateLimits(limits) });
      },
      // Takes effect with the tenant's next request: the limit is read by the same write that counts the request.
      'PUT /v1/admin/tenants/{tenantId}/rate-limits': async (event) => {
        const subject = tenantSubject((await tenantOf(event)).id);
        await rateLimits.setLimits(subject, parse(rateLimitSettingsSchema, jsonBody(event)));
        return json(200, { rateLimits: effectiveRateLimits(await rateLimits.limits(subject)) });
      },
      'GET /v1/admin/tenants/{tenantId}/meters': async (event) => {
        const tenant = await tenantOf(event);
        return json(200, { meters: await directory.listMeters(tenant.id) });
      },
      'PUT /v1/admin/tenants/{tenantId}/meters/{meter}': async (event) => {
        const tenant = await tenantOf(event);
        const key = parse(meterKeySchema, event.pathParameters?.meter, 'meter');
        const meter = { key, ...parse(meterDefinitionSchema, jsonBody(event)) };
        const existing = (await directory.listMeters(tenant.id)).find((m) => m.key === key);
        // Counters already hold values folded one way; changing the fold would mix two meanings.
        if (
          existing &&
          (existing.aggregation !== meter.aggregation ||
            existing.valueProperty !== meter.valueProperty ||
            existing.per !== meter.per ||
            existing.groupBy.join() !== meter.groupBy.join())
        ) {
          throw new ClientError(
            'CONFLICT',
            `meter "${key}" exists; its aggregation, per, valueProperty and groupBy cannot change (create a new meter)`,
            'aggregation',
          );
        }
        await directory.putMeter(tenant.id, meter);
        return json(existing ? 200 : 201, meter);
      },
      'GET /v1/admin/tenants/{tenantId}/api-keys': async (event) => {
        const tenant = await tenantOf(event);
        return json(200, { apiKeys: await directory.listApiKeys({ tenantId: tenant.id }) });
      },
      'POST /v1/admin/tenants/{tenantId}/api-keys': async (event) => {
        const tenant = await tenantOf(event);
        const { name, scope } = parse(tenantKeyRequest, event.body ? jsonBody(event) : {});
        const { token, key } = await issueApiKey(directory, { tenantId: tenant.id }, name, now(), { scope });
        return json(201, { ...key, token, note: issued });
      },
      'DELETE /v1/admin/tenants/{tenantId}/api-keys/{keyId}': async (event) => revoke({ tenantId: (await tenantOf(event)).id }, event),
      'GET /v1/admin/api-keys': async (event) => {
        requireAdmin(event);
        return json(200, { apiKeys: await directory.listApiKeys({ admin: true }) });
      },
      'POST /v1/admin/api-keys': async (event) => {
        requireAdmin(event);
        const { name } = parse(keyRequest, event.body ? jsonBody(event) : {});
        const { token, key } = await issueApiKey(directory, { admin: true }, name, now());
        return json(201, { ...key, token, note: issued });
      },
      'DELETE /v1/admin/api-keys/{keyId}': async (event) => {
        requireAdmin(event);
        return revoke({ admin: true }, event);
      },
      'GET /v1/admin/service-keys': async (event) => {
        requireAdmin(event);
        return json(200, { apiKeys: await directory.listApiKeys({ service: true }) });
      },
      'POST /v1/admin/service-keys': async (event) => {
        requireAdmin(event);
        const { name, tenants } = parse(serviceKeyRequest, event.body ? jsonBody(event) : {});
        for (const [i, id] of (tenants ?? []).entries()) {
          if (!(await directory.getTenant(id))) throw new ClientError('NOT_FOUND', `tenant "${id}" does not exist`, `tenants.${i}`);
        }
        const { token, key } = await issueApiKey(directory, { service: true }, name, now(), tenants ? { tenants } : {});
        return json(201, { ...key, token, note: issued });
      },
      'DELETE /v1/admin/service-keys/{keyId}': async (event) => {
        requireAdmin(event);
        return revoke({ service: true }, event);
      },
      // A service key is counted as a subject of its own, since it posts for many tenants.
      'PUT /v1/admin/service-keys/{keyId}/rate-limits': async (event) => {
        requireAdmin(event);
        const keyId = event.pathParameters?.keyId ?? '';
        const key = await directory.getApiKey(keyId);
        if (key?.role !== 'service' || key.revokedAt) throw new ClientError('NOT_FOUND', `service key "${keyId}" does not exist`, 'keyId');
        const subject = serviceKeySubject(keyId);
        await rateLimits.setLimits(subject, parse(rateLimitSettingsSchema, jsonBody(event)));
        return json(200, { keyId, rateLimits: effectiveRateLimits(await rateLimits.limits(subject)) });
      },
    }),
  );
}
