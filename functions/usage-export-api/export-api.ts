import * as z from 'zod';
import { instantRange, instantText } from '../../shared/kernel/instants.js';
import { parseJson } from '../../shared/kernel/json.js';
import { toIso } from '../../shared/kernel/periods.js';
import type { ExportPage, ExportPageQuery, ExportPosition } from '../../shared/metering/export-pages.js';
import type { ExportRow } from '../../shared/metering/usage-export.js';
import { cursorCodec, keyString } from '../../shared/platform/dynamo/cursor.js';
import { type HttpEvent, type HttpResult, header, httpApi, parseInput, routes } from '../../shared/platform/http.js';
import { requireTenant } from '../../shared/tenancy/access.js';

export interface ExportApiDependencies {
  page(q: ExportPageQuery): Promise<ExportPage>;
}

/** Rows a page may hold; a page also ends at MAX_PAGE_BYTES of rows, so that it stays within a Lambda answer's 6 MB. */
export const MAX_PAGE_ROWS = 10_000;
/** CSV doubles the quotes of `properties`: at most twice this, within the 6 MB of a Lambda answer. */
export const MAX_PAGE_BYTES = 2_500_000;

export const exportQuery = z.object({
  from: instantText,
  to: instantText,
  format: z.enum(['ndjson', 'csv']).optional(),
  cursor: z.string().max(2048).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_ROWS).default(1000),
});

/** The response headers naming the next page and the export's freshness. */
export const NEXT_CURSOR_HEADER = 'meterline-next-cursor';
export const EXPORTED_TO_HEADER = 'meterline-exported-to';

const position = z.strictObject({
  file: keyString,
  row: z.number().int().min(1),
  time: keyString,
  id: keyString,
});
const cursors = (tenantId: string, from: string, to: string) =>
  cursorCodec<ExportPosition>(`usage-export#${tenantId}#${from}#${to}`, position);

/** An exported event as the API shows it (the names of GET /v1/events/{id}); `value` is exact decimal text. */
function eventOf(r: ExportRow) {
  return {
    id: r.event_id,
    meter: r.meter,
    timestamp: r.event_time,
    value: r.value ?? r.distinct_value,
    ...(r.subject !== undefined ? { subject: r.subject } : {}),
    ...(r.properties !== undefined ? { properties: parseJson(r.properties) } : {}),
    receivedAt: r.received_at,
    countedAt: r.counted_at,
    ...(r.corrected_at !== undefined ? { correctedAt: r.corrected_at } : {}),
  };
}

export const CSV_COLUMNS = [
  'id',
  'meter',
  'timestamp',
  'value',
  'subject',
  'properties',
  'receivedAt',
  'countedAt',
  'correctedAt',
] as const;

/**
 * One CSV field. A spreadsheet runs a cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return as a formula,
 * and ids, subjects and properties are whatever the tenant's product sent: such a field, unless it is a number, begins
 * with an apostrophe, as OWASP advises for CSV that people open. Then RFC 4180: a field with a comma, quote or line
 * break is quoted, its quotes doubled.
 */
export function csvField(text: string): string {
  const v = /^[=+\-@\t\r]/.test(text) && !/^-?\d+(\.\d+)?$/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

function csvLine(r: ExportRow): string {
  const cells: Partial<Record<(typeof CSV_COLUMNS)[number], string>> = { ...eventOf(r), properties: r.properties };
  return CSV_COLUMNS.map((c) => csvField(cells[c] ?? '')).join(',');
}

function formatOf(event: HttpEvent, asked: 'ndjson' | 'csv' | undefined): 'ndjson' | 'csv' {
  if (asked) return asked;
  return /(^|,)\s*text\/csv\b/i.test(header(event, 'accept') ?? '') ? 'csv' : 'ndjson';
}

/**
 * A tenant's own counted events, from the Parquet export, a page per request: NDJSON (one event a line) or CSV
 * (a header line, then one event a line, `properties` as its JSON text). The next page's cursor is in a response
 * header, as neither format has room for it; no header, no further page.
 */
export function createExportApi(deps: ExportApiDependencies) {
  return httpApi(
    routes({
      'GET /v1/usage/export': async (event): Promise<HttpResult> => {
        const tenantId = requireTenant(event);
        const q = parseInput(exportQuery, event.queryStringParameters ?? {});
        const range = instantRange(q, { from: 0, to: 0 });
        const [from, to] = [toIso(range.from), toIso(range.to)];
        const codec = cursors(tenantId, from, to);
        const after = q.cursor === undefined ? undefined : await codec.decode(q.cursor);
        const page = await deps.page({ tenantId, from, to, limit: q.limit, maxBytes: MAX_PAGE_BYTES, ...(after ? { after } : {}) });
        const format = formatOf(event, q.format);
        const lines =
          format === 'csv' ? [CSV_COLUMNS.join(','), ...page.rows.map(csvLine)] : page.rows.map((r) => JSON.stringify(eventOf(r)));
        return {
          statusCode: 200,
          headers: {
            'content-type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson',
            ...(page.next ? { [NEXT_CURSOR_HEADER]: await codec.encode(page.next) } : {}),
            ...(page.exportedTo ? { [EXPORTED_TO_HEADER]: page.exportedTo } : {}),
          },
          body: lines.map((l) => `${l}\n`).join(''),
        };
      },
    }),
  );
}
