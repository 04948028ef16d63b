import { existsSync, readFileSync } from 'node:fs';
import { localStateFile } from '../../local/state-dir.js';

/** Where the admin CLI sends requests: flags, then environment, then the state `npm start` leaves. */
export interface Target {
  apiUrl: string;
  adminKey: string;
}

export function target(flags: { url?: string; adminKey?: string }): Target {
  const state = localStateFile();
  const local = existsSync(state) ? (JSON.parse(readFileSync(state, 'utf8')) as Partial<Target>) : {};
  const apiUrl = flags.url ?? process.env.METERLINE_API_URL ?? local.apiUrl;
  const adminKey = flags.adminKey ?? process.env.METERLINE_ADMIN_KEY ?? local.adminKey;
  if (!apiUrl || !adminKey) {
    throw new Error(
      'no API to talk to: pass --url and --admin-key, set METERLINE_API_URL and METERLINE_ADMIN_KEY, or run `npm start` first',
    );
  }
  return { apiUrl: apiUrl.replace(/\/$/, ''), adminKey };
}

export async function call(t: Target, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${t.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${t.adminKey}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  const parsed: unknown = text ? JSON.parse(text) : null;
  if (!res.ok) {
    const e = parsed as { code?: string; message?: string; field?: string } | null;
    throw new Error(`${res.status} ${e?.code ?? ''}: ${e?.message ?? text}${e?.field ? ` (field: ${e.field})` : ''}`);
  }
  return parsed;
}
