import { randomBytes } from 'node:crypto';
import { hashSecret } from './api-keys.js';

/**
 * Dashboard sessions: a short-lived bearer token for the browser, so that the dashboard never holds a
 * long-lived API key. A product's backend (tenant key) or an operator (admin key) mints one; the
 * dashboard receives it in a sign-in URL's fragment, which browsers never send to a server.
 * A tenant session may read its tenant's data and manage its alerts; a console session (minted by an
 * admin key) may read the admin views and open tenant sessions. Both expire and can be revoked.
 */
export interface DashboardSession {
  sessionId: string;
  /** The tenant a tenant session shows; absent for an operator console session. */
  tenantId?: string;
  /** SHA-256 of the secret (256 random bits: a fast hash is as strong as a slow one). */
  secretHash: string;
  /** The key (or session) that minted it, for audit. */
  createdBy: string;
  createdAt: string;
  expiresAt: string;
  revokedAt?: string;
}

/** A session as its owner may see it: never its hash. */
export type DashboardSessionSummary = Omit<DashboardSession, 'secretHash'>;

export const SESSION_MINUTES = { default: 60, min: 5, max: 720 } as const;

const TOKEN = /^mds_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export function parseSessionToken(token: string): { sessionId: string; secret: string } | undefined {
  const m = TOKEN.exec(token);
  return m ? { sessionId: m[1]!, secret: m[2]! } : undefined;
}

/** A new session; the token is returned once and only its hash is kept. */
export function newSession(
  owner: { tenantId?: string },
  createdBy: string,
  /** Epoch milliseconds. */
  now: number,
  ttlMinutes: number,
): { token: string; session: DashboardSession } {
  const sessionId = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const session: DashboardSession = {
    sessionId,
    ...(owner.tenantId ? { tenantId: owner.tenantId } : {}),
    secretHash: hashSecret(secret),
    createdBy,
    createdAt: new Date(now).toISOString(),
    // Whole seconds: the store keeps it as the table's TTL attribute (epoch seconds), and reads back the same time.
    expiresAt: new Date(Math.ceil((now + ttlMinutes * 60_000) / 1000) * 1000).toISOString(),
  };
  return { token: `mds_${sessionId}_${secret}`, session };
}

/** Why a session cannot be used now, or undefined when it can. */
export function sessionRefusal(session: DashboardSession, now: number): string | undefined {
  if (session.revokedAt) return 'this dashboard session has been revoked';
  if (Date.parse(session.expiresAt) <= now) return 'this dashboard session has expired; open a new sign-in link';
  return undefined;
}

/** The sign-in URL: the token travels in the fragment, so it never reaches a server log or a Referer header. */
export function signInUrl(dashboardUrl: string, token: string): string {
  return `${dashboardUrl.replace(/\/+$/, '')}/#session=${token}`;
}
