/** The real `npm start` for the tests that run it (the npm-start tier): the process is local/npm-start-process.ts. */
export { type NpmStart, npmStart } from '../../local/npm-start-process.js';

export async function call(apiUrl: string, method: string, path: string, key: string, body?: unknown) {
  const res = await fetch(`${apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}
