import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { MAX_EVENTS_PER_REQUEST, MAX_REQUEST_BYTES } from '../../shared/metering/events.js';
import type { Target } from './client.js';

/**
 * `events import`: a tenant's history from an NDJSON or CSV file, posted through the admin import route, which runs
 * ingest's own validation, queue and idempotency. Each event keeps its id, so a batch sent twice (a retry, a resumed
 * run) is answered `duplicate` and never counted again. Progress is written to a state file next to the input after
 * every batch; a run that stops (Ctrl-C, a crash, a lost connection) resumes from the last batch it finished.
 */
export interface ImportOptions {
  target: Target;
  tenantId: string;
  file: string;
  /** Lifts the open-period rule for a tenant never invoiced yet. */
  firstImport?: boolean;
  /** Requests in flight at once. */
  concurrency?: number;
  /** Stops after the batches in flight (the state file then says where to resume). */
  signal?: AbortSignal;
  onProgress?(done: number, total: number): void;
  /** Send the whole file again, whatever the state file says (events already counted answer `duplicate`). */
  restart?: boolean;
}

export interface Rejection {
  line: number;
  id?: string;
  code: string;
  message: string;
  field?: string;
}

export interface ImportSummary {
  file: string;
  tenantId: string;
  lines: number;
  /** Lines handled by an earlier, interrupted run. */
  resumedFrom: number;
  /** Lines this run and the earlier ones have answered for. */
  done: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  /** Rejections by code, with the first few examples of each. */
  rejections: Record<string, { count: number; examples: Rejection[] }>;
  /** Events sent again after a 503 or a network failure. */
  retried: number;
  interrupted: boolean;
}

export const EXAMPLES_PER_CODE = 5;
const MAX_ATTEMPTS = 8;
/** Under the route's 1 MiB limit with room for the envelope. */
const MAX_BATCH_BYTES = MAX_REQUEST_BYTES - 16 * 1024;

interface Line {
  line: number;
  event?: unknown;
  error?: string;
}

export const statePath = (file: string) => `${file}.import-state.json`;

interface State {
  tenantId: string;
  size: number;
  done: number;
  counts: Pick<ImportSummary, 'accepted' | 'duplicates' | 'rejected' | 'rejections' | 'retried'>;
}

export async function importEvents(o: ImportOptions): Promise<ImportSummary> {
  const text = readFileSync(o.file, 'utf8');
  const lines = /\.csv$/i.test(o.file) ? csvLines(text) : ndjsonLines(text);
  const size = statSync(o.file).size;
  const saved = existsSync(statePath(o.file)) ? (JSON.parse(readFileSync(statePath(o.file), 'utf8')) as State) : undefined;
  const resume = !o.restart && saved && saved.tenantId === o.tenantId && saved.size === size ? saved : undefined;
  const summary: ImportSummary = {
    file: o.file,
    tenantId: o.tenantId,
    lines: lines.length,
    resumedFrom: resume?.done ?? 0,
    done: resume?.done ?? 0,
    ...(resume?.counts ?? { accepted: 0, duplicates: 0, rejected: 0, rejections: {}, retried: 0 }),
    interrupted: false,
  };
  const fold = (b: BatchResult) => {
    summary.accepted += b.accepted;
    summary.duplicates += b.duplicates;
    summary.retried += b.retried;
    for (const r of b.rejections) {
      summary.rejected += 1;
      const entry = (summary.rejections[r.code] ??= { count: 0, examples: [] });
      entry.count += 1;
      if (entry.examples.length < EXAMPLES_PER_CODE) entry.examples.push(r);
    }
  };

  const batches = batchesOf(lines.slice(summary.done));
  // Batches finish out of order; the summary and the state file take a batch in only once every batch before it is done.
  const finished = new Map<number, BatchResult>();
  let next = 0;
  let watermark = 0;
  const save = () => {
    for (let b = finished.get(watermark); b; b = finished.get(watermark)) {
      fold(b);
      summary.done += batches[watermark]!.length;
      finished.delete(watermark++);
    }
    const { done, accepted, duplicates, rejected, rejections, retried } = summary;
    writeFileSync(
      statePath(o.file),
      JSON.stringify({ tenantId: o.tenantId, size, done, counts: { accepted, duplicates, rejected, rejections, retried } } satisfies State),
    );
    o.onProgress?.(done, lines.length);
  };
  o.onProgress?.(summary.done, lines.length);

  const worker = async () => {
    while (next < batches.length && !o.signal?.aborted) {
      const index = next++;
      const batch = batches[index]!;
      const result: BatchResult = { accepted: 0, duplicates: 0, retried: 0, rejections: [] };
      for (const l of batch) if (l.error) result.rejections.push({ line: l.line, code: 'INVALID_LINE', message: l.error });
      await send(
        o,
        batch.filter((l) => l.event !== undefined),
        result,
      );
      finished.set(index, result);
      save();
    }
  };
  await Promise.all(Array.from({ length: o.concurrency ?? 4 }, worker));
  summary.interrupted = summary.done < lines.length;
  return summary;
}

interface BatchResult {
  accepted: number;
  duplicates: number;
  retried: number;
  rejections: Rejection[];
}

/** Posts one batch; events the API could not make durable (503, a dropped connection) are sent again with the same ids. */
async function send(o: ImportOptions, batch: Line[], result: BatchResult): Promise<void> {
  let pending = batch;
  for (let attempt = 1; pending.length > 0; attempt++) {
    const path = `/v1/admin/tenants/${encodeURIComponent(o.tenantId)}/events${o.firstImport ? '?firstImport=true' : ''}`;
    let status: number;
    let body: {
      results?: { index: number; id?: string; status: string; code?: string; message?: string; field?: string }[];
      code?: string;
      message?: string;
    };
    try {
      const res = await fetch(`${o.target.apiUrl}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${o.target.adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(pending.map((l) => l.event)),
      });
      status = res.status;
      body = (await res.json()) as typeof body;
    } catch (error) {
      if (attempt >= MAX_ATTEMPTS) throw error;
      result.retried += pending.length;
      await pause(attempt);
      continue;
    }
    if ((status !== 202 && status !== 503) || !body.results) {
      if (status >= 500 && attempt < MAX_ATTEMPTS) {
        result.retried += pending.length;
        await pause(attempt);
        continue;
      }
      throw new Error(`${status} ${body.code ?? ''}: ${body.message ?? 'import refused'}`);
    }
    const retry: Line[] = [];
    for (const r of body.results) {
      const line = pending[r.index]!;
      if (r.status === 'accepted') result.accepted += 1;
      else if (r.status === 'duplicate') result.duplicates += 1;
      else if (r.status === 'rejected')
        result.rejections.push({
          line: line.line,
          ...(r.id ? { id: r.id } : {}),
          code: r.code ?? 'REJECTED',
          message: r.message ?? '',
          ...(r.field ? { field: r.field } : {}),
        });
      else retry.push(line);
    }
    if (retry.length > 0 && attempt >= MAX_ATTEMPTS)
      throw new Error(`${retry.length} events could not be made durable after ${MAX_ATTEMPTS} attempts; run the import again to resume`);
    result.retried += retry.length;
    pending = retry;
    if (retry.length > 0) await pause(attempt);
  }
}

const pause = (attempt: number) => new Promise((r) => setTimeout(r, Math.random() * Math.min(10_000, 200 * 2 ** attempt)));

/** Up to 1,000 events and under 1 MiB per request, in file order. */
function batchesOf(lines: Line[]): Line[][] {
  const batches: Line[][] = [];
  let current: Line[] = [];
  let bytes = 2;
  for (const l of lines) {
    const size = l.event === undefined ? 0 : Buffer.byteLength(JSON.stringify(l.event)) + 1;
    if (current.length > 0 && (current.length >= MAX_EVENTS_PER_REQUEST || bytes + size > MAX_BATCH_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 2;
    }
    current.push(l);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

function ndjsonLines(text: string): Line[] {
  const out: Line[] = [];
  text.split('\n').forEach((raw, i) => {
    if (raw.trim() === '') return;
    try {
      out.push({ line: i + 1, event: JSON.parse(raw) });
    } catch {
      out.push({ line: i + 1, error: 'not a JSON object' });
    }
  });
  return out;
}

/**
 * CSV with a header row: `id`, `meter`, `timestamp`, `value` and `subject` are the event's own fields; every other
 * column is a property (`properties.<name>` or just `<name>`). Values stay strings, so decimals stay exact; an empty
 * cell is left out.
 */
function csvLines(text: string): Line[] {
  const rows = parseCsv(text);
  const header = rows.shift()?.cells ?? [];
  const own = new Set(['id', 'meter', 'timestamp', 'value', 'subject']);
  return rows
    .filter((r) => r.cells.some((c) => c !== ''))
    .map(({ line, cells }) => {
      if (cells.length !== header.length) return { line, error: `${cells.length} cells for ${header.length} columns` };
      const event: Record<string, unknown> = {};
      const properties: Record<string, string> = {};
      header.forEach((name, i) => {
        const cell = cells[i]!;
        if (cell === '') return;
        if (own.has(name)) event[name] = cell;
        else properties[name.replace(/^properties\./, '')] = cell;
      });
      if (Object.keys(properties).length > 0) event.properties = properties;
      return { line, event };
    });
}

/** RFC 4180: quoted cells may hold commas, doubled quotes and line breaks. */
export function parseCsv(text: string): { line: number; cells: string[] }[] {
  const rows: { line: number; cells: string[] }[] = [];
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (c === '"') quoted = false;
      else cell += c;
      if (c === '\n') line++;
    } else if (c === '"') quoted = true;
    else if (c === ',') cells.push(cell), (cell = '');
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      cells.push(cell);
      rows.push({ line: rowLine, cells });
      cells = [];
      cell = '';
      rowLine = ++line;
    } else cell += c;
  }
  if (cell !== '' || cells.length > 0) cells.push(cell), rows.push({ line: rowLine, cells });
  return rows;
}
