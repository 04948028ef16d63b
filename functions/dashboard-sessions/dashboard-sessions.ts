import * as z from 'zod';
import { ClientError } from '../../shared/kernel/errors.js';
import { type HttpEvent, httpApi, json, jsonBody, parseInput, routes } from '../../shared/platform/http.js';
import { authorize } from '../../shared/tenancy/access.js';
import type { SessionStore } from '../../shared/tenancy/ports.js';
import { newSessionSchema } from '../../shared/tenancy/requests.js';
import { newSession, signInUrl } from '../../shared/tenancy/sessions.js';
import type { Tenant } from '../../shared/tenancy/tenants.js';

/** GET /v1/dashboard/session: who the dashboard is signed in as (a session names itself and its expiry). */
export const whoamiSchema = z.object({
  role: z.enum(['tenant', 'admin']),
  tenant: z.object({ id: z.string(), name: z.string() }).optional(),
  sessionId: z.string().optional(),
  expiresAt: z.string().optional(),
});

export interface DashboardSessionsDependencies {
  sessions: SessionStore;
  getTenant(tenantId: string): Promise<Tenant | undefined>;
  /** The dashboard's origin, where sign-in links point (the API stage's `dashboardUrl` variable in AWS). */
  dashboardUrl(event: HttpEvent): string;
  /** Epoch milliseconds. */
  now(): number;
}

/**
 * Sign-in to the dashboard without sharing keys: a tenant key mints a session for its own tenant, an
 * admin key one for any tenant or for the operator console, a console session one for a tenant (the
 * console's "open this tenant"). A minted session never outlives the session that minted it.
 */
export function createDashboardSessionsApi(deps: DashboardSessionsDependencies) {
  return httpApi(
    routes({
      'POST /v1/dashboard/sessions': async (event) => {
        const c = authorize(event);
        const body = parseInput(newSessionSchema, event.body ? jsonBody(event) : {});
        if (c.role === 'service') throw new ClientError('FORBIDDEN', 'a service API key cannot open dashboard sessions');
        if (c.role === 'tenant' && body.tenantId && body.tenantId !== c.tenantId) {
          throw new ClientError('FORBIDDEN', 'a tenant key opens sessions for its own tenant only', 'tenantId');
        }
        const tenantId = c.role === 'tenant' ? c.tenantId : body.tenantId;
        if (c.sessionId && !tenantId)
          throw new ClientError('INVALID_REQUEST', 'a console session opens tenant sessions only: name the tenant', 'tenantId');
        if (tenantId && !(await deps.getTenant(tenantId)))
          throw new ClientError('NOT_FOUND', `tenant "${tenantId}" does not exist`, 'tenantId');

        const now = deps.now();
        const minted = newSession(tenantId ? { tenantId } : {}, c.keyId, now, body.ttlMinutes);
        if (c.sessionId) {
          const parent = await deps.sessions.getSession(c.sessionId);
          if (parent && parent.expiresAt < minted.session.expiresAt) minted.session.expiresAt = parent.expiresAt;
        }
        await deps.sessions.putSession(minted.session);
        const { secretHash: _hidden, ...session } = minted.session;
        return json(201, { ...session, token: minted.token, url: signInUrl(deps.dashboardUrl(event), minted.token) });
      },

      /** Who the dashboard is signed in as. */
      'GET /v1/dashboard/session': async (event) => {
        const c = authorize(event);
        const session = c.role !== 'service' && c.sessionId ? await deps.sessions.getSession(c.sessionId) : undefined;
        const tenant = c.role === 'tenant' ? await deps.getTenant(c.tenantId) : undefined;
        return json(200, {
          role: c.role,
          ...(tenant ? { tenant: { id: tenant.id, name: tenant.name } } : {}),
          ...(session ? { sessionId: session.sessionId, expiresAt: session.expiresAt } : {}),
        });
      },

      /** Sign out (a session revokes itself), or a tenant key / admin revokes a session it can see. */
      'DELETE /v1/dashboard/sessions/{sessionId}': async (event) => {
        const c = authorize(event);
        const id = event.pathParameters?.sessionId ?? '';
        if (c.role === 'service') throw new ClientError('FORBIDDEN', 'a service API key cannot revoke dashboard sessions');
        // A session signs only itself out; any other id is, for it, a session that does not exist.
        const mine = !c.sessionId || c.sessionId === id;
        const revoked =
          mine && (await deps.sessions.revokeSession(id, new Date(deps.now()).toISOString(), c.role === 'tenant' ? c.tenantId : undefined));
        if (!revoked) throw new ClientError('NOT_FOUND', `session "${id}" does not exist`, 'sessionId');
        return { statusCode: 204 };
      },
    }),
  );
}
