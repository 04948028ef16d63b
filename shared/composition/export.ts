import { S3Client } from '@aws-sdk/client-s3';
import { DirectoryExportFiles, S3ExportFiles } from '../metering/adapters/export-files.js';
import { DynamoExportLedger } from '../metering/adapters/export-ledger.js';
import { parquetFile } from '../metering/adapters/parquet.js';
import type { ExportPagePorts } from '../metering/export-pages.js';
import { required } from '../platform/config.js';
import { tableName } from '../platform/dynamo/tables.js';
import { dynamo } from './clients.js';

/** The Parquet export's adapters, apart from metering.ts so that only the functions that export load the S3 client. */
export const exportLedger = () => new DynamoExportLedger(dynamo(), tableName('events'));

/** The export's files: the bucket in AWS (EXPORT_BUCKET), a directory locally (EXPORT_DIR, set by the local stack). */
export const exportFiles = () =>
  process.env.EXPORT_DIR
    ? new DirectoryExportFiles(process.env.EXPORT_DIR)
    : new S3ExportFiles(new S3Client({}), required('EXPORT_BUCKET'));

/** The export read back a page at a time (GET /v1/usage/export): the same files, opened as Parquet. */
export const exportPages = (): ExportPagePorts => {
  const files = exportFiles();
  return {
    list: (prefix, startAfter) => files.list(prefix, startAfter),
    open: async (key) => {
      const bytes = await files.get(key);
      const [, tenant = '', day = ''] = /tenant=([^/]+)\/day=([^/]+)\//.exec(key) ?? [];
      return bytes && parquetFile(bytes, { tenant, day });
    },
    state: async (key) => {
      const bytes = await files.get(key);
      return bytes && (JSON.parse(Buffer.from(bytes).toString('utf8')) as { exportedTo: string });
    },
  };
};
