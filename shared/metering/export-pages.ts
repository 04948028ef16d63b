import { EXPORT_PREFIX, EXPORT_STATE_KEY, type ExportRow } from './usage-export.js';

/**
 * A tenant's own counted events, read back page by page from the Parquet export (`GET /v1/usage/export`).
 *
 * The export, not the ledger, is the source: the ledger is keyed by event id and has no index of a tenant's counted
 * events by time (an index would cost a write per event for every tenant), while the export holds them under one
 * prefix per tenant, a file per UTC day sorted by `(event_time, event_id)`, for the operator's retention (years).
 * The price is freshness: an event is here once the export's daily run has written its day (`exportedTo`).
 *
 * A position names the file and row a page continues at, and the time and id of the row before it. A partition is
 * rewritten whole when one of its events is counted late or corrected; the row before the position then tells
 * whether the rows moved, and if they did the page finds its place again by `(time, id)`, so a rewrite between two
 * pages neither repeats nor skips an event that was there before it.
 */
export type ExportPosition = {
  file: string;
  row: number;
  time: string;
  id: string;
};

/** One of the export's files, opened: its row count, a range of its rows, and every row's sort key. */
export interface ExportFile {
  rowCount: number;
  rows(start: number, end: number): Promise<ExportRow[]>;
  keys(): Promise<{ time: string; id: string }[]>;
}

export interface ExportPagePorts {
  /** The export's keys under `prefix`, after `startAfter` (lexicographic, as S3 lists them). */
  list(prefix: string, startAfter: string): Promise<string[]>;
  open(key: string): Promise<ExportFile | undefined>;
  /** The export's progress record (`state/export.json`), undefined before its first run. */
  state(key: string): Promise<{ exportedTo: string } | undefined>;
}

export interface ExportPageQuery {
  tenantId: string;
  /** Event timestamps from `from` (inclusive) to `to` (exclusive), ISO 8601 UTC with milliseconds. */
  from: string;
  to: string;
  limit: number;
  /** Stop the page once its rows' JSON passes this many bytes (a Lambda answer is at most 6 MB). */
  maxBytes: number;
  after?: ExportPosition;
}

export interface ExportPage {
  rows: ExportRow[];
  next?: ExportPosition;
  /** Events counted up to this instant are in the export; undefined before its first run. */
  exportedTo?: string;
}

const tenantPrefix = (tenantId: string) => `${EXPORT_PREFIX}tenant=${tenantId}/`;
const dayOf = (key: string) => /\/day=(\d{4}-\d{2}-\d{2})\//.exec(key)?.[1] ?? '';
const before = (a: { time: string; id: string }, b: { time: string; id: string }) => a.time < b.time || (a.time === b.time && a.id < b.id);

/** The first index whose key is not before `key` (keys sorted). */
function firstNotBefore(keys: { time: string; id: string }[], key: { time: string; id: string }): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (before(keys[mid]!, key)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Where reading `file` starts: after the position, and not before `from`. Where the row before the position is
 * still the position's, the rows from there on come along (one decode for the check and the page).
 */
async function startRow(key: string, file: ExportFile, q: ExportPageQuery): Promise<{ start: number; rows?: ExportRow[] }> {
  const after = q.after;
  if (after && key === after.file && after.row > 0) {
    const [previous, ...rows] = await file.rows(after.row - 1, Math.min(file.rowCount, after.row + q.limit));
    if (previous && previous.event_id === after.id && previous.event_time === after.time) return { start: after.row, rows };
  }
  let keys: { time: string; id: string }[] | undefined;
  let start = 0;
  if (after && dayOf(key) === dayOf(after.file)) {
    keys = await file.keys();
    // The first row after the position's: the smallest id greater than the position's is that id and a NUL.
    start = firstNotBefore(keys, { time: after.time, id: `${after.id}\u0000` });
  }
  if (dayOf(key) === q.from.slice(0, 10)) {
    keys ??= await file.keys();
    start = Math.max(start, firstNotBefore(keys, { time: q.from, id: '' }));
  }
  return { start };
}

export async function readExportPage(ports: ExportPagePorts, q: ExportPageQuery): Promise<ExportPage> {
  const prefix = tenantPrefix(q.tenantId);
  const lastDay = new Date(Date.parse(q.to) - 1).toISOString().slice(0, 10);
  const firstDay = q.after ? dayOf(q.after.file) : q.from.slice(0, 10);
  // `day=<first>` sorts before that day's files and after every earlier day's. A day's files hold its rows in order,
  // so the parts before the position's hold none after it.
  const keys = (await ports.list(prefix, `${prefix}day=${firstDay}`))
    .filter((k) => k.endsWith('.parquet') && dayOf(k) >= firstDay && dayOf(k) <= lastDay && (!q.after || k >= q.after.file))
    .sort();
  const state = await ports.state(EXPORT_STATE_KEY);
  const page: ExportPage = { rows: [], ...(state ? { exportedTo: state.exportedTo } : {}) };
  let bytes = 0;
  for (const key of keys) {
    const file = await ports.open(key);
    if (!file) continue;
    const first = await startRow(key, file, q);
    let row = first.start;
    let prefetched = first.rows;
    while (row < file.rowCount) {
      const rows = prefetched ?? (await file.rows(row, Math.min(file.rowCount, row + q.limit - page.rows.length)));
      prefetched = undefined;
      if (rows.length === 0) break;
      for (const r of rows) {
        if (r.event_time >= q.to) return page;
        page.rows.push(r);
        bytes += Buffer.byteLength(JSON.stringify(r));
        row++;
        if (page.rows.length === q.limit || bytes >= q.maxBytes) {
          page.next = { file: key, row, time: r.event_time, id: r.event_id };
          return page;
        }
      }
    }
  }
  return page;
}
