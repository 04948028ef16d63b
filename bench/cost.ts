/**
 * List prices for the ingestion path, us-east-1, as published by AWS on the pages below (read 2026-11-30).
 * First pricing tier of each service, no free tier, no Savings Plans: the marginal cost of a million events.
 * - API Gateway HTTP API: $1.00 per million requests (first 300 million a month), metered in 512 KB increments
 *   (https://aws.amazon.com/api-gateway/pricing/; docs.aws.amazon.com whitepaper "Best Practices for Designing
 *   Amazon API Gateway Private APIs", Cost optimization, table 4).
 * - Lambda, Arm: $0.20 per million requests and $0.0000133334 per GB-second (first 7.5 billion GB-s a month);
 *   init code is billed as duration too (https://aws.amazon.com/lambda/pricing/).
 * - SQS: $0.40 per million standard-queue requests, $0.50 FIFO (first 100 billion a month); each 64 KB chunk
 *   of a payload is one request (https://aws.amazon.com/sqs/pricing/).
 * - DynamoDB on demand, Standard table class: $0.625 per million write request units, $0.125 per million read
 *   request units; storage $0.25 per GB-month after the first 25 GB, each item counted with 100 bytes of
 *   overhead (https://aws.amazon.com/dynamodb/pricing/).
 * - EventBridge custom events: $1.00 per million, each 64 KB chunk of an entry one event
 *   (https://aws.amazon.com/eventbridge/pricing/).
 * - S3 Standard: $0.023 per GB-month (first 50 TB), $0.005 per 1,000 PUT or LIST requests, $0.0004 per 1,000 GETs
 *   (https://aws.amazon.com/s3/pricing/).
 */
export const priceTable = {
  readOn: '2026-11-30',
  region: 'us-east-1',
  httpApiPerMillion: 1.0,
  httpApiMeteredBytes: 512 * 1024,
  lambdaPerMillionRequests: 0.2,
  lambdaArmPerGbSecond: 0.0000133334,
  sqsStandardPerMillion: 0.4,
  sqsFifoPerMillion: 0.5,
  dynamoWritePerMillionUnits: 0.625,
  dynamoReadPerMillionUnits: 0.125,
  dynamoStoragePerGbMonth: 0.25,
  dynamoItemOverheadBytes: 100,
  eventBridgePerMillionChunks: 1.0,
  s3StandardPerGbMonth: 0.023,
  s3PutPerThousand: 0.005,
  s3GetPerThousand: 0.0004,
} as const;

/** What one workload measurably used on the local stack, per the whole run. */
export interface PathUsage {
  events: number;
  /** POST /v1/events requests and their body bytes. */
  apiRequests: number;
  apiRequestBytes: number;
  /** Each function on the path: invocations, summed handler time, configured memory. */
  lambdas: { name: string; invocations: number; busyMs: number; memoryMb: number }[];
  /** SQS requests as billed (64 KB chunks), and whether the queue is FIFO. */
  sqsBilledRequests: number;
  fifo: boolean;
  /** DynamoDB write and read units by AWS's rules (the rate limiter's apart, below). */
  writeUnits: number;
  readUnits: number;
  /** The per-tenant rate limit's own units: its conditional writes (a refused one is billed too) and reads. */
  rateLimitWriteUnits: number;
  rateLimitReadUnits: number;
  /** Bytes the ledger keeps per counted event, and for how long. */
  ledgerItemBytes: number;
  retentionDays: number;
}

const DAYS_PER_MONTH = 365.25 / 12;

/** Dollars per million events, line by line, from measured counts and the price table (4 decimals). */
export function costPerMillionEvents(u: PathUsage, p = priceTable): Record<string, string> {
  const perMillion = (dollars: number) => (dollars * 1_000_000) / u.events;
  const apiChunks = u.apiRequests * Math.max(1, Math.ceil(u.apiRequestBytes / u.apiRequests / p.httpApiMeteredBytes));
  const lambdaRequests = u.lambdas.reduce((n, l) => n + l.invocations, 0);
  const gbSeconds = u.lambdas.reduce((n, l) => n + (l.busyMs / 1000) * (l.memoryMb / 1024), 0);
  const storageGbMonths = (u.events * (u.ledgerItemBytes + p.dynamoItemOverheadBytes) * (u.retentionDays / DAYS_PER_MONTH)) / 1e9;
  const lines = {
    'HTTP API $': perMillion((apiChunks / 1e6) * p.httpApiPerMillion),
    'Lambda requests $': perMillion((lambdaRequests / 1e6) * p.lambdaPerMillionRequests),
    'Lambda GB-s $': perMillion(gbSeconds * p.lambdaArmPerGbSecond),
    'SQS $': perMillion((u.sqsBilledRequests / 1e6) * (u.fifo ? p.sqsFifoPerMillion : p.sqsStandardPerMillion)),
    'DynamoDB writes $': perMillion((u.writeUnits / 1e6) * p.dynamoWritePerMillionUnits),
    'DynamoDB reads $': perMillion((u.readUnits / 1e6) * p.dynamoReadPerMillionUnits),
    'rate limit $': perMillion(
      (u.rateLimitWriteUnits / 1e6) * p.dynamoWritePerMillionUnits + (u.rateLimitReadUnits / 1e6) * p.dynamoReadPerMillionUnits,
    ),
    'ledger storage $': perMillion(storageGbMonths * p.dynamoStoragePerGbMonth),
  };
  const total = Object.values(lines).reduce((a, b) => a + b, 0);
  return Object.fromEntries(Object.entries({ ...lines, 'total $ per million events': total }).map(([k, v]) => [k, v.toFixed(4)]));
}
