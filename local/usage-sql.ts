import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { EXPORT_PREFIX, exportColumns, partitionColumns } from '../shared/metering/usage-export.js';

/** A column's SQL type as DuckDB names it: the Glue table's types (Hive names) in DuckDB's spelling. */
export const duckType = (sql: string) =>
  sql === 'string' ? 'VARCHAR' : sql === 'timestamp' ? 'TIMESTAMP WITH TIME ZONE' : sql.toUpperCase().replace(/\s/g, '');

/**
 * SQL over the local Parquet export with DuckDB, embedded: a view `usage` over `<dir>/usage/tenant=*\/day=*\/*.parquet`,
 * the partition columns read from the path as Athena reads them, so a query answers here what it answers on the
 * Glue table in AWS. Rows come back as JSON values: decimals and 64-bit integers as strings, exact.
 */
export async function queryUsage(exportDir: string, sql: string): Promise<Record<string, unknown>[]> {
  const db = await (await DuckDBInstance.create(':memory:')).connect();
  try {
    const root = join(exportDir, EXPORT_PREFIX);
    const columns = [...exportColumns, ...partitionColumns].map((c) => `${c.name} ${duckType(c.sql)}`).join(', ');
    if (hasFiles(root)) {
      const glob = join(root, 'tenant=*', 'day=*', '*.parquet').replaceAll("'", "''");
      await db.run(
        `CREATE VIEW usage AS SELECT * FROM read_parquet('${glob}', hive_partitioning = true, hive_types = {'tenant': VARCHAR, 'day': VARCHAR})`,
      );
    } else {
      // Nothing exported yet: the same columns, no rows, rather than an error about a missing file.
      await db.run(`CREATE TABLE usage (${columns})`);
    }
    return (await db.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    db.closeSync();
  }
}

function hasFiles(dir: string): boolean {
  return existsSync(dir) && readdirSync(dir, { recursive: true }).some((f) => String(f).endsWith('.parquet'));
}
