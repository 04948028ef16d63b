import { S3Client } from '@aws-sdk/client-s3';
import { DirectoryExportFiles, S3ExportFiles } from '../metering/adapters/export-files.js';
import { DynamoExportLedger } from '../metering/adapters/export-ledger.js';
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
