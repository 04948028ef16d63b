import { performance } from 'node:perf_hooks';
import { functionSpecs } from '../infra/catalog.js';
import { startLocalStack } from '../local/stack.js';
import { DELIVERY_RETENTION_DAYS } from '../shared/alerts/adapters/webhook-store.js';
import { encodeParquet, parquetFile } from '../shared/metering/adapters/parquet.js';
import { DynamoUsageWriter } from '../shared/metering/adapters/usage-writer.js';
import type { UsageEvent } from '../shared/metering/events.js';
import { packMessages } from '../shared/metering/queue-messages.js';
import { seedMeters } from '../shared/metering/seed-meters.js';
import { type ExportOutcome, exportRow } from '../shared/metering/usage-export.js';
import { usageRecordedBatches } from '../shared/metering/usage-stream.js';
import { documentClient } from '../shared/platform/dynamo/client.js';
import { tableName } from '../shared/platform/dynamo/tables.js';
import { DynamoTenantDirectory } from '../shared/tenancy/adapters/tenant-directory.js';
import { priceTable } from './cost.js';
import { printTable } from './report.js';

/**
 * `npm run bench -- export`: the Parquet export's write rate and what it and the `usage.recorded` stream cost per
 * million events, side by side (docs/usage-export.md).
 *
 * The export is measured: a ledger of TENANTS × DAYS × PER_DAY events is written to DynamoDB Local, then the
 * usage-export function runs once over it on the local stack (its handler time, the files it wrote), and the
 * Parquet encoding alone is timed in process on a large tenant's day. The stream's cost is computed from the batches
 * the consumer would announce for the same events (packMessages, then usageRecordedBatches, as ingest and the consumer
 * make them) by the billing rules of EventBridge, SQS and DynamoDB for one subscribed webhook endpoint; the
 * delivery worker's POST time is not measured.
 */
const TENANTS = 4;
const DAYS = 5;
const PER_DAY = 1000;
const LEDGER_RETENTION_DAYS = 40;
const DAYS_PER_MONTH = 365.25 / 12;
const KB = 1024;

const meters = [
  ...seedMeters,
  { key: 'tokens', name: 'Tokens', unit: 'token', aggregation: 'SUM' as const, valueProperty: 'tokens', groupBy: ['model'] },
];

function generated(): UsageEvent[] {
  const start = Date.UTC(2026, 10, 1);
  const events: UsageEvent[] = [];
  let n = 0;
  for (let t = 0; t < TENANTS; t++)
    for (let d = 0; d < DAYS; d++)
      for (let i = 0; i < PER_DAY; i++, n++) {
        const timestamp = new Date(start + d * 86_400_000 + ((i * 7919) % 86_400) * 1000).toISOString();
        const base = { tenantId: `tenant-${t}`, id: `e-${n}`, timestamp, payloadHash: `h${n}`, receivedAt: timestamp };
        if (i % 3 === 0)
          events.push({ ...base, meter: 'api_calls', aggregation: 'COUNT', value: '1', groupKey: '', subject: 'customer-42' });
        else if (i % 3 === 1)
          events.push({
            ...base,
            meter: 'tokens',
            aggregation: 'SUM',
            value: String(1000 + (i % 500)),
            groupKey: `model=${i % 2 ? 'small' : 'large'}`,
            properties: `{"tokens":${1000 + (i % 500)},"model":"${i % 2 ? 'small' : 'large'}"}`,
          });
        else events.push({ ...base, meter: 'orders', aggregation: 'COUNT', value: '1', groupKey: '', properties: `{"order_id":"o-${i}"}` });
      }
  return events;
}

/** Dollars per million events from a per-event figure. */
const perMillion = (perEvent: number) => (perEvent * 1e6).toFixed(4);

/** The stream for one endpoint: a bus entry per batch, a delivery record written, read and updated, a delivery message. */
function streamCost(events: UsageEvent[]) {
  const p = priceTable;
  let batches = 0;
  let busChunks = 0;
  let writeUnits = 0;
  let readUnits = 0;
  let recordBytes = 0;
  for (const tenant of new Set(events.map((e) => e.tenantId))) {
    for (const message of packMessages(events.filter((e) => e.tenantId === tenant))) {
      for (const batch of usageRecordedBatches(message.events, new Date().toISOString())) {
        const bytes = Buffer.byteLength(JSON.stringify(batch));
        batches++;
        busChunks += Math.ceil(bytes / (64 * KB));
        // The delivery record holds the payload and a few hundred bytes of keys and status; the webhooks table's
        // index projects every attribute, so each write of it is written twice. It is put once, read once by the
        // delivery worker (strongly), and updated once with the attempt.
        const item = bytes + 400;
        writeUnits += 2 * Math.ceil(item / KB) * 2;
        readUnits += Math.ceil(item / (4 * KB));
        recordBytes += item;
      }
    }
  }
  const n = events.length;
  const sqsRequests = batches * 3;
  const lines = {
    'EventBridge $': ((busChunks / n) * p.eventBridgePerMillionChunks) / 1e6,
    'SQS $': ((sqsRequests / n) * p.sqsStandardPerMillion) / 1e6,
    'Lambda requests $': ((batches / n) * p.lambdaPerMillionRequests) / 1e6,
    'DynamoDB writes $': ((writeUnits / n) * p.dynamoWritePerMillionUnits) / 1e6,
    'DynamoDB reads $': ((readUnits / n) * p.dynamoReadPerMillionUnits) / 1e6,
    'storage $ (kept)': ((recordBytes * 2) / n / 1e9) * (DELIVERY_RETENTION_DAYS / DAYS_PER_MONTH) * p.dynamoStoragePerGbMonth,
  };
  return {
    shape: { batches, 'events/batch': Math.round(n / batches), 'WCU/event': (writeUnits / n).toFixed(3) },
    lines,
  };
}

export async function usageExportBench() {
  const events = generated();
  const stream = streamCost(events);

  // Encoding alone: a large tenant's day of 100,000 rows, as the function does it, in this process.
  const day = Array.from({ length: 100_000 }, (_, i) =>
    exportRow({ ...events[i % events.length]!, id: `big-${i}`, status: 'counted', countedAt: events[0]!.receivedAt }),
  );
  encodeParquet(day.slice(0, 1000));
  const encodeStart = performance.now();
  const encoded = encodeParquet(day);
  const encodeSeconds = (performance.now() - encodeStart) / 1000;

  // GET /v1/usage/export on that day: a page of 1,000 rows from its middle, as a cursor resumes it (the row before
  // checked, then the page), and the search by (time, id) a rewritten partition needs instead.
  const timed = async (work: () => Promise<unknown>) => {
    const t = performance.now();
    await work();
    return performance.now() - t;
  };
  const file = () => parquetFile(encoded, { tenant: 'tenant-0', day: '2026-11-01' });
  const pageMs = await timed(async () => {
    const f = file();
    await f.rows(49_999, 50_000);
    await f.rows(50_000, 51_000);
  });
  const searchMs = await timed(() => file().keys());

  const stack = await startLocalStack();
  try {
    const db = documentClient(stack.dynamo);
    const directory = new DynamoTenantDirectory(db, tableName('tenants', stack.env));
    for (let t = 0; t < TENANTS; t++) {
      await directory.createTenant({ id: `tenant-${t}`, name: `tenant-${t}`, createdAt: new Date().toISOString() });
      for (const m of meters) await directory.putMeter(`tenant-${t}`, m);
    }
    const store = new DynamoUsageWriter(db, {
      eventsTable: tableName('events', stack.env),
      countersTable: tableName('counters', stack.env),
      ledgerRetentionDays: LEDGER_RETENTION_DAYS,
    });
    for (let i = 0; i < events.length; i += 500) {
      const outcome = await store.commit([{ id: `m-${i}`, events: events.slice(i, i + 500) }]);
      if (outcome.failed.length) throw new Error(`${outcome.failed.length} events failed to commit`);
    }
    // What a scan of the events table reads: every item whole (ledger entries, fold receipts), before any filter.
    let scannedBytes = 0;
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await db.scan({ TableName: tableName('events', stack.env), ExclusiveStartKey: startKey });
      for (const item of page.Items ?? []) scannedBytes += Buffer.byteLength(JSON.stringify(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey);

    const start = performance.now();
    const outcome = (await stack.runSchedule('usage-export', new Date(Date.now() + 1000))) as ExportOutcome;
    const runSeconds = (performance.now() - start) / 1000;
    const busySeconds = stack.busyMs('usage-export') / 1000;
    if (outcome.rows !== events.length) throw new Error(`the export wrote ${outcome.rows} rows of ${events.length}`);

    printTable('Parquet export write rate (usage-export on the local stack; DynamoDB Local scans on this machine)', [
      {
        step: 'whole run: two ledger scans, encode, write files',
        events: outcome.rows,
        files: outcome.files,
        seconds: runSeconds.toFixed(2),
        'events/s': Math.round(outcome.rows / runSeconds),
        'Parquet bytes/event': (outcome.bytes / outcome.rows).toFixed(1),
      },
      {
        step: 'Parquet encoding alone, one file of a 100,000-event day',
        events: day.length,
        files: 1,
        seconds: encodeSeconds.toFixed(2),
        'events/s': Math.round(day.length / encodeSeconds),
        'Parquet bytes/event': (encoded.byteLength / day.length).toFixed(1),
      },
    ]);

    const p = priceTable;
    const n = events.length;
    // Each daily run scans the whole ledger twice, eventually consistent (half a read unit per 4 KB); an event stays
    // in the ledger LEDGER_RETENTION_DAYS, so it is read by that many runs.
    const scanUnitsPerRun = 2 * 0.5 * Math.ceil(scannedBytes / (4 * KB));
    const exportLines = {
      'EventBridge $': 0,
      'SQS $': 0,
      'Lambda requests $': 0,
      'DynamoDB writes $': 0,
      'DynamoDB reads $': ((scanUnitsPerRun / n) * LEDGER_RETENTION_DAYS * p.dynamoReadPerMillionUnits) / 1e6,
      'Lambda GB-s $': (busySeconds * (functionSpecs['usage-export'].memoryMb / 1024) * p.lambdaArmPerGbSecond) / n,
      'S3 PUT $': (((outcome.files + 1) / n) * p.s3PutPerThousand) / 1000,
      'storage $ (kept)': ((outcome.bytes / n) * p.s3StandardPerGbMonth) / 1e9,
    };
    const total = (lines: Record<string, number>) => Object.values(lines).reduce((a, b) => a + b, 0);
    const columns = [...new Set([...Object.keys(stream.lines), ...Object.keys(exportLines)])];
    const row = (name: string, lines: Record<string, number>) => ({
      'per million events': name,
      ...Object.fromEntries(columns.map((c) => [c, perMillion(lines[c as keyof typeof lines] ?? 0)])),
      total: perMillion(total(lines)),
    });
    printTable(
      `Cost per million events beside ingestion's (npm run bench -- e2e), ${p.region} list prices read ${p.readOn} (bench/cost.ts); storage is per month kept`,
      [
        row(`usage.recorded stream, one webhook endpoint (${stream.shape['events/batch']} events/batch, computed)`, stream.lines),
        row(`Parquet export (daily, ledger kept ${LEDGER_RETENTION_DAYS} days, measured)`, exportLines),
      ],
    );
    printTable('GET /v1/usage/export: decoding a page in process from a 100,000-event day (file already fetched)', [
      { step: 'a 1,000-row page where the cursor points', ms: pageMs.toFixed(0) },
      { step: 'finding the place by (time, id) after a rewrite', ms: searchMs.toFixed(0) },
    ]);
    printTable('The stream per endpoint: batches of the same events and the delivery records they write', [
      { events: n, ...stream.shape, 'ledger bytes scanned/event': (scannedBytes / n).toFixed(0) },
    ]);
  } finally {
    await stack.stop();
  }
}
