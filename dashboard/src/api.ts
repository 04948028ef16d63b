/**
 * The dashboard's only way to the API: the session token from sessionStorage as the bearer, the API
 * base from config.json (empty when the API is on the same origin, as under `npm start`).
 */
const TOKEN = 'meterline.session';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The request field the API refused, when it named one. */
    readonly field?: string,
  ) {
    super(message);
  }
}

/** A tenant without a subscription is answered 404 by the plan's reads (pricing, analytics, the upcoming invoice). */
export const noPlan = (error: Error | undefined) => error instanceof ApiError && error.status === 404;

let base = '';

export async function loadConfig(): Promise<void> {
  const res = await fetch('config.json', { cache: 'no-store' });
  if (res.ok) base = ((await res.json()) as { apiUrl?: string }).apiUrl?.replace(/\/+$/, '') ?? '';
}

/** Takes a sign-in link's token out of the URL (the fragment never reached a server) into this tab's storage. */
export function adoptSignInToken(): void {
  const m = /^#session=([\w-]+)/.exec(location.hash);
  if (!m) return;
  sessionStorage.setItem(TOKEN, m[1]!);
  history.replaceState(null, '', `${location.pathname}${location.search}#/`);
}

export const token = () => sessionStorage.getItem(TOKEN);
export const forgetToken = () => sessionStorage.removeItem(TOKEN);

async function request(method: string, path: string, body?: unknown): Promise<Response> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token() ?? ''}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  }).catch(() => {
    // fetch rejects only when no answer came at all (offline, DNS, a dropped connection); its own text says little.
    throw new ApiError(0, 'UNREACHABLE', 'The Meterline API could not be reached. Check the connection and try again.');
  });
  if (!res.ok) {
    const error = (await res.json().catch(() => ({}))) as { code?: string; message?: string; field?: string };
    // API Gateway itself answers an expired, revoked or unknown session (no error code of the API's).
    if (!error.code && (res.status === 401 || res.status === 403))
      throw new ApiError(res.status, 'SESSION_ENDED', 'This dashboard session has ended.');
    throw new ApiError(res.status, error.code ?? String(res.status), error.message ?? res.statusText, error.field);
  }
  return res;
}

export async function get<T>(path: string): Promise<T> {
  return (await request('GET', path)).json() as Promise<T>;
}

export async function send<T>(method: 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T | undefined> {
  const res = await request(method, path, body);
  return res.status === 204 ? undefined : ((await res.json()) as T);
}

export async function blob(path: string): Promise<Blob> {
  return (await request('GET', path)).blob();
}

/** Fetches a document with the session's bearer token (a plain link could not carry it). */
export async function openDocument(path: string, download?: string): Promise<void> {
  const url = URL.createObjectURL(await blob(path));
  const a = document.createElement('a');
  a.href = url;
  if (download) a.download = download;
  else a.target = '_blank';
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
