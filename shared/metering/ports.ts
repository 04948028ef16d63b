import type { Granularity, Period } from '../kernel/periods.js';
import type { UsageEvent } from './events.js';
import type { Meter } from './meters.js';

/**
 * What metering needs from storage and the queue. The DynamoDB and SQS adapters in ./adapters/
 * implement these; handlers and other contexts depend on these types only.
 */

/** What one commit of a batch did to each event. */
export interface CommitOutcome {
  counted: UsageEvent[];
  duplicates: UsageEvent[];
  /** Events whose writes still failed after retries: their messages must be delivered again. */
  failed: UsageEvent[];
  writeUnits: number;
}

/** One counter bucket of a meter. */
export interface CounterRow {
  period: string;
  value: string;
  events: number;
}

/** The ledger and the counters: events folded in exactly once, counters read back. */
export interface UsageStore {
  commit(events: readonly UsageEvent[]): Promise<CommitOutcome>;
  /** The ids among `ids` already in the ledger (eventually consistent: the consumer makes the final call). */
  existing(tenantId: string, ids: readonly string[]): Promise<Set<string>>;
  /** Counter values of one meter for periods `from`..`to` (inclusive period keys). */
  series(tenantId: string, meter: string, granularity: Granularity, from: string, to: string, groupKey?: string): Promise<CounterRow[]>;
}

export interface SendOutcome {
  /** Events that could not be made durable: the caller must not report them accepted. */
  failed: UsageEvent[];
  calls: number;
}

/** The queue between ingest and the consumer. */
export interface UsageQueue {
  send(events: readonly UsageEvent[]): Promise<SendOutcome>;
}

/**
 * The meter totals (group "") a billed quantity is computed from (./period-usage.ts). Period keys are
 * inclusive, as in `UsageStore.series`.
 */
export interface CounterReads {
  /** Counter values of the meter total over `from`..`to`. */
  values(tenantId: string, meter: string, granularity: Granularity, from: string, to: string): Promise<{ period: string; value: string }[]>;
  /** The newest hourly reading before `instant`: a gauge's level when a period opens. */
  levelBefore(tenantId: string, meter: string, instant: number): Promise<string | undefined>;
  /** Distinct values of a UNIQUE_COUNT meter over the period's days, from the per-day markers. */
  distinctDayValues(tenantId: string, meter: string, period: Period): Promise<number>;
}

/** A meter's billed quantity over a period and a gauge's level, as billing and quotas read them. */
export interface MeterQuantities {
  /** The meter's billable quantity over `period`, counting readings up to `asOf` (./period-usage.ts). */
  quantity(tenantId: string, meter: Meter, period: Period, asOf: number): Promise<string>;
  /** A gauge's level at `instant`: the newest reading of the hour it falls in or before, 0 without one. */
  level(tenantId: string, meter: Meter, instant: number): Promise<string>;
}
