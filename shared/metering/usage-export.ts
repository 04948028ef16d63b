import { MAX_FRACTION_DIGITS } from '../kernel/decimal.js';
import type { LedgerEntry } from './ports.js';

/**
 * The Parquet export: every counted event, as it is counted now (corrections applied, voided events left out), in
 * files under `usage/tenant=<tenant>/day=<YYYY-MM-DD>/` (the UTC day of the event's timestamp), so one tenant's
 * data is one prefix and Athena prunes by tenant and day.
 *
 * A run exports the ledger's changes since the last run: every partition an event was counted or corrected in
 * since then is written again, whole, from the ledger, under the same file names (`part-00000.parquet`, ...).
 * Writing a partition is idempotent, so a retried or repeated run leaves the same files and adds no row, and each
 * event is in exactly one file: its partition's. A partition is as large as a tenant's day, so there are no small
 * files to compact. The run records how far it got (`state/export.json`) only once every partition is written.
 *
 * The ledger keeps events `ledgerRetentionDays` (40 by default) and an event can be counted late or corrected
 * only while it is there, so a partition written again always finds all its events in the ledger.
 */
export const EXPORT_PREFIX = 'usage/';
export const EXPORT_STATE_KEY = 'state/export.json';
/** Rows per file: about 50-100 MB of Parquet, within one Lambda's memory and a good size for Athena's readers. */
export const ROWS_PER_FILE = 1_000_000;

/** The value column's decimal type: events carry at most 18 integer and 12 fraction digits. */
export const VALUE_PRECISION = 38;
export const VALUE_SCALE = MAX_FRACTION_DIGITS;

/** The files' columns and their SQL types, in order: the Glue table declares the same (infra/usage-export.ts) and the local view (local/usage-sql.ts). */
export const exportColumns = [
  { name: 'event_id', sql: 'string', required: true },
  { name: 'meter', sql: 'string', required: true },
  { name: 'aggregation', sql: 'string', required: true },
  { name: 'value', sql: `decimal(${VALUE_PRECISION},${VALUE_SCALE})`, required: false },
  { name: 'distinct_value', sql: 'string', required: false },
  { name: 'event_time', sql: 'timestamp', required: true },
  { name: 'subject', sql: 'string', required: false },
  { name: 'group_key', sql: 'string', required: true },
  { name: 'properties', sql: 'string', required: false },
  { name: 'received_at', sql: 'timestamp', required: true },
  { name: 'counted_at', sql: 'timestamp', required: true },
  { name: 'corrected_at', sql: 'timestamp', required: false },
] as const;

/** The partition columns, from the path: `usage/tenant=<tenant>/day=<YYYY-MM-DD>/`. */
export const partitionColumns = [
  { name: 'tenant', sql: 'string' },
  { name: 'day', sql: 'string' },
] as const;

/** One row of the export: the project's names, in snake case as SQL spells them. */
export interface ExportRow {
  tenant: string;
  day: string;
  event_id: string;
  meter: string;
  aggregation: string;
  /** Exact decimal text; undefined for UNIQUE_COUNT events, whose value is the distinct value (`distinct_value`). */
  value?: string;
  distinct_value?: string;
  event_time: string;
  subject?: string;
  group_key: string;
  /** The properties as sent, JSON text with its numbers as spelled. */
  properties?: string;
  received_at: string;
  counted_at: string;
  corrected_at?: string;
}

/** Where the export's files live: S3 in AWS, a directory locally. Keys are relative ("usage/tenant=a/..."). */
export interface ExportFiles {
  put(key: string, body: Uint8Array): Promise<void>;
  get(key: string): Promise<Uint8Array | undefined>;
  /** Keys under `prefix` in lexicographic order, those after `startAfter` only when it is given. */
  list(prefix: string, startAfter?: string): Promise<string[]>;
  delete(keys: string[]): Promise<void>;
}

export interface ExportPorts {
  /** Every counted ledger entry (voided ones included), page by page; `changedAfter` narrows it to those counted or corrected later. */
  scanLedger(onPage: (entries: LedgerEntry[]) => void, changedAfter?: string): Promise<void>;
  files: ExportFiles;
  /** One Parquet file of rows (of one partition). */
  encode(rows: ExportRow[]): Uint8Array;
}

export interface ExportOutcome {
  from?: string;
  to: string;
  partitions: number;
  rows: number;
  files: number;
  bytes: number;
}

export const partitionPrefix = (tenant: string, day: string) => `${EXPORT_PREFIX}tenant=${tenant}/day=${day}/`;
const partFile = (n: number) => `part-${String(n).padStart(5, '0')}.parquet`;
const changedAt = (e: LedgerEntry) => (e.correctedAt && e.correctedAt > (e.countedAt ?? '') ? e.correctedAt : e.countedAt!);

export function exportRow(e: LedgerEntry): ExportRow {
  const distinct = e.aggregation === 'UNIQUE_COUNT';
  return {
    tenant: e.tenantId,
    day: e.timestamp.slice(0, 10),
    event_id: e.id,
    meter: e.meter,
    aggregation: e.aggregation,
    ...(distinct ? { distinct_value: e.value } : { value: e.value }),
    event_time: e.timestamp,
    ...(e.subject === undefined ? {} : { subject: e.subject }),
    group_key: e.groupKey,
    ...(e.properties === undefined ? {} : { properties: e.properties }),
    received_at: e.receivedAt,
    counted_at: e.countedAt!,
    ...(e.correctedAt === undefined ? {} : { corrected_at: e.correctedAt }),
  };
}

/**
 * Exports what changed in the ledger up to `to` (ISO 8601): a first pass finds the partitions touched since the
 * last run, a second reads their events whole. Entries counted after `to` wait for the next run, so a run's files
 * do not depend on when its scan passed an item.
 */
export async function runExport(ports: ExportPorts, to: string): Promise<ExportOutcome> {
  const state = await ports.files.get(EXPORT_STATE_KEY);
  const from = state ? (JSON.parse(Buffer.from(state).toString('utf8')) as { exportedTo: string }).exportedTo : undefined;
  if (from !== undefined && from >= to) return { from, to, partitions: 0, rows: 0, files: 0, bytes: 0 };

  const touched = new Set<string>();
  await ports.scanLedger((entries) => {
    for (const e of entries) {
      const at = changedAt(e);
      if ((from === undefined || at > from) && at <= to) touched.add(partitionPrefix(e.tenantId, e.timestamp.slice(0, 10)));
    }
  }, from);

  const rows = new Map<string, ExportRow[]>([...touched].map((p) => [p, []]));
  if (touched.size > 0) {
    await ports.scanLedger((entries) => {
      for (const e of entries) {
        if (e.voidedAt || e.countedAt! > to) continue;
        rows.get(partitionPrefix(e.tenantId, e.timestamp.slice(0, 10)))?.push(exportRow(e));
      }
    });
  }

  const outcome: ExportOutcome = { ...(from ? { from } : {}), to, partitions: touched.size, rows: 0, files: 0, bytes: 0 };
  for (const [prefix, partition] of rows) {
    partition.sort((a, b) => (a.event_time < b.event_time ? -1 : a.event_time > b.event_time ? 1 : a.event_id < b.event_id ? -1 : 1));
    const names: string[] = [];
    for (let i = 0; i * ROWS_PER_FILE < partition.length; i++) {
      const body = ports.encode(partition.slice(i * ROWS_PER_FILE, (i + 1) * ROWS_PER_FILE));
      await ports.files.put(`${prefix}${partFile(i)}`, body);
      names.push(`${prefix}${partFile(i)}`);
      outcome.files++;
      outcome.bytes += body.byteLength;
    }
    // A partition that shrank (voids) keeps no file of its former size; one left empty keeps none.
    const stale = (await ports.files.list(prefix)).filter((key) => !names.includes(key));
    if (stale.length > 0) await ports.files.delete(stale);
    outcome.rows += partition.length;
  }
  await ports.files.put(EXPORT_STATE_KEY, Buffer.from(JSON.stringify({ exportedTo: to })));
  return outcome;
}
