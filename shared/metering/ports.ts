import type { Granularity, Period } from '../kernel/periods.js';
import type { UsageEvent } from './events.js';
import type { Meter } from './meters.js';
import type { CounterRange } from './period-usage.js';
import type { Drift, LiveCounter, RecomputeScope, Repair } from './recompute.js';
import type { RecomputeJob } from './recompute-job.js';

/**
 * What metering needs from storage and the queue. The DynamoDB and SQS adapters in ./adapters/
 * implement these; handlers and other contexts depend on these types only.
 */

/** What one commit of a batch did to each event. */
export interface CommitOutcome {
  counted: UsageEvent[];
  /** Ids already in the ledger (counted or quarantined) with the same payload. */
  duplicates: UsageEvent[];
  /** Ids already in the ledger with a different payload: not counted, and the tenant must hear of it. */
  reused: UsageEvent[];
  /** Events no write can ever take, set aside in the ledger with their reason instead of failing their batch. */
  quarantined: Quarantined[];
  /** Events whose writes still failed after retries: their messages must be delivered again. */
  failed: UsageEvent[];
  writeUnits: number;
}

export interface Quarantined {
  event: UsageEvent;
  reason: string;
}

/** What the ledger holds for one event id. */
export interface LedgerEntry extends UsageEvent {
  status: 'counted' | 'quarantined';
  countedAt?: string;
  quarantinedAt?: string;
  quarantineReason?: string;
  /** Set by corrections: the entry holds the corrected version; a voided event counts nowhere. */
  correctedAt?: string;
  voidedAt?: string;
}

export interface Page<T> {
  items: T[];
  cursor?: string;
}

export interface QuarantineQuery {
  /** One tenant's, or every tenant's (operators). */
  tenantId?: string;
  /** Receipt time range, ISO 8601. */
  from: string;
  to: string;
  limit: number;
  cursor?: string;
}

export type ReplayOutcome =
  | { status: 'counted' | 'duplicate' | 'not-quarantined' }
  | { status: 'quarantined'; reason: string }
  | { status: 'failed' };

/** One counter bucket of a meter. */
export interface CounterRow {
  period: string;
  value: string;
  events: number;
}

/** One queue message: the unit the consumer claims ledger entries for and folds exactly once. */
export interface UsageMessage {
  /** Stable across redeliveries and redrives. */
  id: string;
  events: UsageEvent[];
}

/** The exactly-once writer: each event of a batch of queue messages claimed in the ledger and folded into its counters once. */
export interface UsageWriter {
  commit(messages: readonly UsageMessage[]): Promise<CommitOutcome>;
}

/** The ledger as the API and ingest read it. */
export interface LedgerReads {
  /** The payload hashes of those of `ids` already in the ledger (eventually consistent: the consumer makes the final call). */
  existing(tenantId: string, ids: readonly string[]): Promise<Map<string, string>>;
  /** One event of the ledger, read strongly. */
  get(tenantId: string, id: string): Promise<LedgerEntry | undefined>;
  /** Quarantined events by receipt time, newest first. */
  quarantined(q: QuarantineQuery): Promise<Page<LedgerEntry>>;
}

/** A quarantined event counted once its cause is fixed. */
export interface QuarantineReplay {
  /** Folds a quarantined event, exactly once however often it is asked. */
  replay(tenantId: string, id: string): Promise<ReplayOutcome>;
}

/** A meter's counters as the usage API shows them: any group's series, and which groups there are. */
export interface CounterSeries {
  /** Counter values of one meter for periods `from`..`to` (inclusive period keys). */
  series(tenantId: string, meter: string, granularity: Granularity, from: string, to: string, groupKey?: string): Promise<CounterRow[]>;
  /** The group keys (never the meter total's '') a meter has counters for in months `fromMonth`..`toMonth`. */
  groupKeys(tenantId: string, meter: string, fromMonth: string, toMonth: string): Promise<string[]>;
}

export interface SendOutcome {
  /** Events that could not be made durable: the caller must not report them accepted. */
  failed: UsageEvent[];
  calls: number;
}

/** One event an ingest request refused, as its answer said. */
export interface Rejection {
  index: number;
  id?: string;
  code: string;
  field?: string;
  message: string;
  /** The event as sent (JSON), kept when the rejection can be replayed once its cause is fixed (UNKNOWN_METER). */
  event?: string;
}

/** The rejections of one request (or one consumer batch, for ids found re-used there). */
export interface RejectionBatch {
  tenantId: string;
  receivedAt: string;
  requestId: string;
  rejections: Rejection[];
}

export interface RejectedEvent extends Rejection {
  receivedAt: string;
  requestId: string;
}

export interface RejectionQuery {
  tenantId: string;
  from: string;
  to: string;
  limit: number;
  cursor?: string;
}

export interface KeptEventsQuery {
  tenantId: string;
  code: string;
  from: string;
  to: string;
}

/** Rejected events, kept as long as the ledger keeps events. */
export interface RejectionStore {
  record(batch: RejectionBatch): Promise<void>;
  /** Rejected events received in [from, to], newest request first. */
  list(q: RejectionQuery): Promise<Page<RejectedEvent>>;
  /** The events as sent of the rejections of one code received in [from, to], oldest first. */
  keptEvents(q: KeptEventsQuery): Promise<string[]>;
}

/** The queue between ingest and the consumer. */
export interface UsageQueue {
  send(events: readonly UsageEvent[]): Promise<SendOutcome>;
}

/**
 * The meter totals (group "") a billed quantity is computed from (./period-usage.ts). Period keys are
 * inclusive, as in `CounterSeries.series`.
 */
export interface CounterReads {
  /** Counter values (and how many events each counted) of the meter total over `from`..`to`; periods without a counter are absent. */
  values(
    tenantId: string,
    meter: string,
    granularity: Granularity,
    from: string,
    to: string,
  ): Promise<{ period: string; value: string; events: number }[]>;
  /** The newest reading before `instant` (hourly, or by quarter-hour within `instant`'s hour): a gauge's level when a period opens. */
  levelBefore(tenantId: string, meter: string, instant: number): Promise<string | undefined>;
  /** Distinct values of a UNIQUE_COUNT meter (or of one group, `groupKey`) over the counter ranges, from the markers of their buckets. */
  distinctValues(tenantId: string, meter: string, ranges: readonly CounterRange[], groupKey?: string): Promise<number>;
  /** A TIME_WEIGHTED meter's readings, per group: the newest before `from`, and every one at or after `from` and before `to`. */
  readings(tenantId: string, meter: string, from: number, to: number): Promise<GaugeReadings[]>;
}

/** One reading of a TIME_WEIGHTED meter. */
export interface Reading {
  at: string;
  id: string;
  value: string;
}

/** One group's readings around a stretch of time (the group '' when the meter has no group-by). */
export interface GaugeReadings {
  groupKey: string;
  before?: Reading;
  readings: Reading[];
}

/** A meter's billed quantity over a period and a gauge's level, as billing and quotas read them. */
export interface MeterQuantities {
  /** The meter's billable quantity over `period`, counting readings up to `asOf` (./period-usage.ts). */
  quantity(tenantId: string, meter: Meter, period: Period, asOf: number): Promise<string>;
  /** A gauge's level at `instant`: the newest reading of the hour it falls in or before, 0 without one. */
  level(tenantId: string, meter: Meter, instant: number): Promise<string>;
}

/** What a ledger read for a recompute asks for. Times are ISO 8601. */
export interface LedgerScan {
  tenantId: string;
  meter?: string;
  /** Event timestamps in [from, to). */
  from: string;
  to: string;
  /** Correction records made at or after this instant come back too: the counters they changed cannot be compared. */
  correctionsSince: string;
}

export interface LedgerPage {
  /** Ledger items the page went through, whoever's they are. */
  scanned: number;
  entries: LedgerEntry[];
  corrections: { before: UsageEvent; after?: UsageEvent }[];
  /** Entries claimed by a fold not committed yet (its receipt missing): in the ledger, not yet in any counter. */
  unfolded: UsageEvent[];
}

/** What a recompute reads and writes: the ledger (read only), the live counters, and conditional repairs. */
export interface RecomputeStore {
  /** The counters and UNIQUE_COUNT markers of `meters` in the scope, read strongly, by counter key. */
  counters(scope: RecomputeScope, meters: readonly string[]): Promise<Map<string, LiveCounter>>;
  /** Reads the ledger page by page. */
  scanLedger(q: LedgerScan, onPage: (page: LedgerPage) => Promise<void> | void): Promise<void>;
  /** Applies a repair if the counter still holds the state the drift was found in (see `Repair`). */
  repair(drift: Drift, repair: Repair): Promise<'repaired' | 'conflict'>;
}

/** Recompute jobs: started by an admin route, run by a worker that claims them with a lease. */
export interface RecomputeJobs {
  create(job: RecomputeJob): Promise<void>;
  get(jobId: string): Promise<RecomputeJob | undefined>;
  /** Claims the oldest job that is queued, or running under a lease that expired; the claim is `job.owner`'s. */
  claim(now: number, leaseMs: number): Promise<RecomputeJob | undefined>;
  /** Stores the job's progress or outcome, if the caller still owns it. */
  save(job: RecomputeJob): Promise<boolean>;
}
