import { type FileMetaData, parquetMetadata, parquetReadObjects } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { Dec } from '../../kernel/decimal.js';
import type { ExportFile } from '../export-pages.js';
import { type ExportRow, exportColumns, VALUE_PRECISION, VALUE_SCALE } from '../usage-export.js';

/**
 * The export's Parquet files, written with hyparquet-writer: pure JavaScript with one dependency of its own, so
 * the export function stays a small bundle (DuckDB, which also writes Parquet, is a native module of tens of MB and
 * serves only the local SQL). `value` is a DECIMAL(38,12) written from its exact unscaled integer, never through a
 * float: events carry at most 12 fraction digits and 18 integer digits. The partition columns (`tenant`, `day`)
 * are the files' path, as Athena and DuckDB read Hive-style partitions.
 */
type Column = (typeof exportColumns)[number];
const SCALE = new Dec(10).pow(VALUE_SCALE);

function element(c: Column) {
  const repetition_type = c.required ? ('REQUIRED' as const) : ('OPTIONAL' as const);
  if (c.sql === 'string') return { name: c.name, type: 'BYTE_ARRAY' as const, converted_type: 'UTF8' as const, repetition_type };
  if (c.sql === 'timestamp')
    return {
      name: c.name,
      type: 'INT64' as const,
      converted_type: 'TIMESTAMP_MILLIS' as const,
      logical_type: { type: 'TIMESTAMP' as const, isAdjustedToUTC: true, unit: 'MILLIS' as const },
      repetition_type,
    };
  return {
    name: c.name,
    type: 'FIXED_LEN_BYTE_ARRAY' as const,
    type_length: 16,
    converted_type: 'DECIMAL' as const,
    precision: VALUE_PRECISION,
    scale: VALUE_SCALE,
    repetition_type,
  };
}

function cell(c: Column, v: string | undefined): unknown {
  if (v === undefined) return null;
  if (c.sql === 'timestamp') return new Date(v);
  if (c.sql.startsWith('decimal')) return BigInt(new Dec(v).times(SCALE).toFixed(0));
  return v;
}

/**
 * Data pages of 64 KiB (hyparquet-writer's default is 1 MiB) with an offset index: a reader of a few rows
 * (GET /v1/usage/export) decodes only the pages holding them, a quarter of the time of a whole row group in the
 * export bench, for files about 5% larger.
 */
const PAGE_BYTES = 64 * 1024;

export function encodeParquet(rows: readonly ExportRow[]): Uint8Array {
  const schema = [{ name: 'root', num_children: exportColumns.length }, ...exportColumns.map(element)];
  const columnData = exportColumns.map((c) => ({ name: c.name, data: rows.map((r) => cell(c, r[c.name])) }));
  return new Uint8Array(
    parquetWriteBuffer({ columnData, schema, rowGroupSize: 100_000, pageSize: PAGE_BYTES, createdBy: 'meterline' } as Parameters<
      typeof parquetWriteBuffer
    >[0]),
  );
}

/** A 16-byte big-endian two's-complement integer. */
function unscaled(bytes: Uint8Array): bigint {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return bytes[0]! & 0x80 ? n - (1n << BigInt(bytes.length * 8)) : n;
}

function text(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return new Dec(unscaled(v).toString()).div(SCALE).toFixed();
  return String(v);
}

/**
 * One of the export's files, read with hyparquet (the writer's own reader, pure JavaScript), a row range at a time:
 * only the row groups holding the range are decoded. hyparquet turns a DECIMAL into a float, so the value column's
 * decimal annotation is taken off the schema it reads with: it hands over the 16 bytes, read here exactly.
 */
export function parquetFile(bytes: Uint8Array, partition: { tenant: string; day: string }): ExportFile {
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const metadata: FileMetaData = parquetMetadata(file);
  metadata.schema = metadata.schema.map((e) =>
    e.name === 'value' ? { ...e, converted_type: undefined, logical_type: undefined, scale: undefined, precision: undefined } : e,
  );
  const read = (columns: string[] | undefined, rowStart: number, rowEnd: number) =>
    parquetReadObjects({ file, metadata, rowStart, rowEnd, useOffsetIndex: true, ...(columns ? { columns } : {}) });
  return {
    rowCount: Number(metadata.num_rows),
    async rows(start, end) {
      return (await read(undefined, start, end)).map((r) => {
        const row: Record<string, string> = { ...partition };
        for (const c of exportColumns) {
          const v = text(r[c.name]);
          if (v !== undefined) row[c.name] = v;
        }
        return row as unknown as ExportRow;
      });
    },
    async keys() {
      const rows = await read(['event_time', 'event_id'], 0, Number(metadata.num_rows));
      return rows.map((r) => ({ time: (r.event_time as Date).toISOString(), id: r.event_id as string }));
    },
  };
}
