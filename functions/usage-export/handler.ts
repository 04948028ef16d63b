import { exportFiles, exportLedger } from '../../shared/composition/export.js';
import { encodeParquet } from '../../shared/metering/adapters/parquet.js';
import { createUsageExport } from './usage-export.js';

const ledger = exportLedger();

export const handler = createUsageExport({
  scanLedger: (onPage, changedAfter) => ledger.scan(onPage, changedAfter),
  files: exportFiles(),
  encode: encodeParquet,
  settleSeconds: Number(process.env.EXPORT_SETTLE_SECONDS ?? 300),
});
