import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CSV_COLUMNS, EXPORTED_TO_HEADER, NEXT_CURSOR_HEADER } from '../../functions/usage-export-api/export-api.js';
import type { LocalStack } from '../../local/stack.js';
import { parseCsv } from '../../scripts/admin/import.js';
import { Dec } from '../../shared/kernel/decimal.js';
import type { Meter } from '../../shared/metering/meters.js';
import { seedMeters } from '../../shared/metering/seed-meters.js';
import { api, createTenant, startTestStack } from '../support/stack.js';

const tokens: Meter = { key: 'tokens', name: 'Tokens', unit: 'token', aggregation: 'SUM', groupBy: [] };
const meters = [...seedMeters, tokens];
const DAY = 86_400_000;

interface Posted {
  id: string;
  meter: string;
  timestamp: string;
  value?: string;
  subject?: string;
  properties?: Record<string, unknown>;
}

/** A subject a spreadsheet would run, were it a cell's text as sent. */
const FORMULA = '=HYPERLINK("https://example.com","open")';

/** Events over the last three days: counts, exact decimals of up to 12 fraction digits, distinct users, properties. */
function generated(prefix: string, n: number, now: number, seed: number): Posted[] {
  const event = fc.record({
    kind: fc.constantFrom('orders', 'tokens', 'seats'),
    ago: fc.integer({ min: 0, max: 3 * DAY }),
    whole: fc.bigInt({ min: 0n, max: 10n ** 15n }),
    fraction: fc.bigInt({ min: 0n, max: 10n ** 12n - 1n }),
    subject: fc.option(fc.constantFrom('customer-1', 'customer,"2"', 'customer\n3', FORMULA), { nil: undefined }),
    note: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
  });
  return fc.sample(event, { numRuns: n, seed }).map((e, i) => {
    const base = {
      id: `${prefix}-${i}`,
      meter: e.kind,
      timestamp: new Date(now - e.ago).toISOString(),
      ...(e.subject ? { subject: e.subject } : {}),
    };
    const note = e.note === undefined ? {} : { note: e.note };
    if (e.kind === 'tokens')
      return { ...base, value: `${e.whole}.${String(e.fraction).padStart(12, '0')}`, properties: { route: i % 2 ? 'eu' : 'us', ...note } };
    if (e.kind === 'seats') return { ...base, properties: { user_id: `user-${i % 7}`, ...note } };
    return { ...base, properties: { n: i, ...note } };
  });
}

/** What the export answers for a posted event: the value exact and normalised, the distinct value for seats. */
function expected(e: Posted) {
  return {
    id: e.id,
    meter: e.meter,
    timestamp: e.timestamp,
    value: e.meter === 'orders' ? '1' : e.meter === 'seats' ? (e.properties!.user_id as string) : new Dec(e.value!).toFixed(),
    ...(e.subject ? { subject: e.subject } : {}),
    ...(e.properties ? { properties: e.properties } : {}),
  };
}

const byTimeAndId = (a: { timestamp: string; id: string }, b: { timestamp: string; id: string }) =>
  a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;

describe('GET /v1/usage/export on the local stack', () => {
  let stack: LocalStack;
  let alpha: string;
  let beta: string;
  const now = Date.now();
  const posted = { alpha: generated('a', 300, now, 32), beta: generated('b', 60, now, 33) };
  const range = `from=${new Date(now - 4 * DAY).toISOString()}&to=${new Date(now + 60_000).toISOString()}`;

  async function get(token: string, query: string, headers: Record<string, string> = {}) {
    const res = await fetch(`${stack.apiUrl}/v1/usage/export?${query}`, { headers: { authorization: `Bearer ${token}`, ...headers } });
    return { status: res.status, headers: res.headers, text: await res.text() };
  }

  /** Every page of a query, following the cursor header. */
  async function pages(token: string, query: string, headers: Record<string, string> = {}) {
    const texts: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await get(token, `${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, headers);
      expect(res.status, res.text).toBe(200);
      texts.push(res.text);
      cursor = res.headers.get(NEXT_CURSOR_HEADER);
    } while (cursor && texts.length < 1000);
    return texts;
  }

  beforeAll(async () => {
    stack = await startTestStack();
    alpha = await createTenant(stack, 'alpha', meters);
    beta = await createTenant(stack, 'beta', meters);
    for (const [key, events] of [
      [alpha, posted.alpha],
      [beta, posted.beta],
    ] as const) {
      for (let i = 0; i < events.length; i += 100)
        expect((await api(stack, 'POST', '/v1/events', key, events.slice(i, i + 100))).status).toBe(202);
    }
    // One event posted as text, its numbers as spelled.
    const raw = `{"id":"a-raw","meter":"tokens","timestamp":"${new Date(now - DAY).toISOString()}","value":0.500,"properties":{"price":1.10}}`;
    expect((await api(stack, 'POST', '/v1/events', alpha, raw)).status).toBe(202);
    await stack.drained();
    await stack.runSchedule('usage-export', new Date(Date.now() + 1000));
  }, 300_000);
  afterAll(() => stack?.stop());

  it('gives back, page by page as NDJSON, exactly the events posted, and none of another tenant', async () => {
    const texts = await pages(alpha, `${range}&limit=37`);
    expect(texts.length).toBeGreaterThan(5);
    const lines = texts.join('').split('\n').filter(Boolean);
    const events = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const { receivedAt, countedAt } = events[0]!;
    expect([receivedAt, countedAt]).toEqual([expect.any(String), expect.any(String)]);
    const shown = events.filter((e) => e.id !== 'a-raw').map(({ receivedAt: _r, countedAt: _c, ...e }) => e);
    expect(shown).toEqual(posted.alpha.map(expected).sort(byTimeAndId));
    expect(lines.find((l) => l.includes('"a-raw"'))).toContain('"value":"0.5"');
    expect(lines.find((l) => l.includes('"a-raw"'))).toContain('"properties":{"price":1.10}');

    const theirs = (await pages(beta, `${range}&limit=1000`)).join('').split('\n').filter(Boolean);
    expect(theirs.map((l) => JSON.parse(l).id).sort()).toEqual(posted.beta.map((e) => e.id).sort());
  });

  it('gives back the same events as CSV, asked by format=csv or by the Accept header, properties as JSON text, formulas inert', async () => {
    for (const [query, headers] of [
      [`${range}&limit=50&format=csv`, {}],
      [`${range}&limit=50`, { accept: 'text/csv' }],
    ] as const) {
      const texts = await pages(alpha, query, headers);
      const rows = texts.flatMap((t) => {
        const [head, ...body] = parseCsv(t).map((row) => row.cells);
        expect(head).toEqual([...CSV_COLUMNS]);
        return body;
      });
      const events = rows
        .map((r) => Object.fromEntries(CSV_COLUMNS.map((c, i) => [c, r[i]])))
        .filter((e) => e.id !== 'a-raw')
        .map((e) => ({
          id: e.id,
          meter: e.meter,
          timestamp: e.timestamp,
          value: e.value,
          ...(e.subject ? { subject: e.subject } : {}),
          ...(e.properties ? { properties: JSON.parse(e.properties) } : {}),
        }));
      // A spreadsheet shows the formula as text: the cell begins with an apostrophe.
      const inert = (e: ReturnType<typeof expected>) => (e.subject === FORMULA ? { ...e, subject: `'${FORMULA}` } : e);
      expect(events).toEqual(posted.alpha.map(expected).map(inert).sort(byTimeAndId));
      expect(events.filter((e) => e.subject === `'${FORMULA}`).length).toBeGreaterThan(0);
    }
  });

  it('says how fresh the export is, and reads nothing before it ran for a tenant', async () => {
    const res = await get(alpha, `${range}&limit=1`);
    expect(Date.parse(res.headers.get(EXPORTED_TO_HEADER)!)).toBeGreaterThan(now);
    const gamma = await createTenant(stack, 'gamma', meters);
    await api(stack, 'POST', '/v1/events', gamma, { id: 'g-1', meter: 'orders', timestamp: new Date().toISOString() });
    await stack.drained();
    expect(await get(gamma, range)).toMatchObject({ status: 200, text: '' });
  });

  it('answers forged cursors, cursors of another tenant or range, and bad parameters 400 with code, message and field', async () => {
    const first = await get(alpha, `${range}&limit=5`);
    const cursor = first.headers.get(NEXT_CURSOR_HEADER)!;
    const [position, signature] = cursor.split('.');
    const forged = (p: unknown) => `${Buffer.from(JSON.stringify(p)).toString('base64url')}.${signature}`;
    const bad: [string, string, string][] = [
      [
        alpha,
        `${range}&cursor=${forged({ file: 'usage/tenant=beta/day=2026-01-01/part-00000.parquet', row: 1, time: 't', id: 'x' })}`,
        'cursor',
      ],
      [alpha, `${range}&cursor=${position}.AAAA`, 'cursor'],
      [alpha, `${range}&cursor=not-a-cursor`, 'cursor'],
      [beta, `${range}&cursor=${encodeURIComponent(cursor)}`, 'cursor'],
      [
        alpha,
        `from=${new Date(now - 5 * DAY).toISOString()}&to=${new Date(now).toISOString()}&cursor=${encodeURIComponent(cursor)}`,
        'cursor',
      ],
      [alpha, `to=${new Date(now).toISOString()}`, 'from'],
      [alpha, `from=${new Date(now).toISOString()}`, 'to'],
      [alpha, `from=${new Date(now).toISOString()}&to=${new Date(now - 1).toISOString()}`, 'from'],
      [alpha, `from=yesterday&to=${new Date(now).toISOString()}`, 'from'],
      [alpha, `${range}&limit=0`, 'limit'],
      [alpha, `${range}&limit=10001`, 'limit'],
      [alpha, `${range}&format=xml`, 'format'],
    ];
    for (const [token, query, field] of bad) {
      const res = await get(token, query);
      expect(res.status, query).toBe(400);
      expect(JSON.parse(res.text), query).toEqual({ code: 'INVALID_REQUEST', message: expect.any(String), field });
    }
  });
});
