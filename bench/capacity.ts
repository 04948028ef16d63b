import { MAX_ITEMS_PER_PLAN } from '../shared/metering/aggregation.js';
import { printTable } from './report.js';

/**
 * The capacity model of docs/scale.md as arithmetic: published service limits (each with its source in
 * docs/scale.md) and this design's per-event costs in, ceilings out. `npm run bench -- capacity` prints it
 * for today's write path and for the ≤ 1.2 WCU/event fold, so the document's figures can be re-derived.
 */
export const limits = {
  /** API Gateway: account throttle per Region (increasable), and the prod stage's own throttle (infra/stage.ts). */
  apiAccountRps: 10_000,
  apiStageRps: 2_000,
  eventsPerRequest: 1_000,
  /** DynamoDB: per partition, and the default table-level quota for an on-demand table (increasable). */
  partitionWcu: 1_000,
  partitionRcu: 3_000,
  tableWru: 40_000,
  /** A new on-demand table takes 4,000 WRU at once and doubles its previous peak within 30 minutes. */
  newTableWru: 4_000,
  lambdaTimeoutSeconds: 900,
  /** Stripe: v1 meter events per second in live mode; a v2 meter event stream (100 events per request). */
  stripeV1EventsPerSecond: 1_000,
  stripeV2EventsPerSecond: 10_000,
} as const;

export interface WritePath {
  name: string;
  /** Write units per event on the ledger (events table) and on the counters table. */
  ledgerWcuPerEvent: number;
  counterWcuPerEvent: number;
  /** Write units one fold of one tenant × meter spends on its counter partition (hour, day, month counters). */
  counterWcuPerFold: number;
  /** Events one fold covers: a transaction of at most MAX_ITEMS_PER_PLAN items, or a fold unit of one message. */
  eventsPerFold: number;
}

/** The path before claims: each event's ledger entry and its counters in one transaction (2 WCU per item). */
export const transactional: WritePath = {
  name: 'before: ledger in the transaction',
  ledgerWcuPerEvent: 2,
  counterWcuPerEvent: 0.09,
  counterWcuPerFold: 3 * 2,
  eventsPerFold: MAX_ITEMS_PER_PLAN - 3,
};

/**
 * Claim and fold: one plain conditional ledger put per event (1 WCU), then one transaction per fold unit (a
 * tenant × meter's events of one message) with the unit's receipt and the meter's counters. Counter writes per
 * event are the measured 1.018 - 1 at 1,000-event requests. Folds of one meter from concurrent messages still
 * conflict and retry, so they run one after another as before.
 */
export const folded: WritePath = {
  name: 'claim and fold',
  ledgerWcuPerEvent: 1,
  counterWcuPerEvent: 0.02,
  counterWcuPerFold: 3 * 2,
  // One message of up to 256 KiB at ~300 bytes per queued event, all of one meter at worst.
  eventsPerFold: 800,
};

/** Ceilings for one write path, given how long one fold (transaction or batch) takes in AWS. */
export function ceilings(path: WritePath, foldSeconds: number) {
  const wcuPerEvent = path.ledgerWcuPerEvent + path.counterWcuPerEvent;
  // The hottest tenant × meter: its counters share one partition key, so one partition's 1,000 WCU/s bounds
  // them; folds of the same counters also wait for each other (transaction conflicts, retried).
  const byPartition = (limits.partitionWcu / path.counterWcuPerFold) * path.eventsPerFold;
  const bySerialFolds = path.eventsPerFold / foldSeconds;
  return {
    'write path': path.name,
    'WCU/event': wcuPerEvent,
    'hot tenant × meter events/s': Math.round(Math.min(byPartition, bySerialFolds)),
    'bound by': byPartition < bySerialFolds ? 'counter partition 1,000 WCU/s' : 'folds in series',
    'aggregate events/s (table quota 40k WRU)': Math.round(limits.tableWru / path.ledgerWcuPerEvent),
    'aggregate events/s (new table, 4k WRU)': Math.round(limits.newTableWru / path.ledgerWcuPerEvent),
    'aggregate events/s (API stage, 100/request)': limits.apiStageRps * 100,
  };
}

/** Tenants one Stripe report run can cover inside the Lambda timeout, with a tenth of it kept as headroom. */
export function reportTenants(eventsPerSecond: number, metersPerTenant = 5) {
  return Math.floor((eventsPerSecond * limits.lambdaTimeoutSeconds * 0.9) / metersPerTenant);
}

export function capacity() {
  printTable('Capacity model (bench/capacity.ts, docs/scale.md): ceilings from published limits, 50 ms per fold transaction', [
    ceilings(transactional, 0.05),
    ceilings(folded, 0.05),
  ]);
  printTable('Stripe report: tenants (5 meters each) one 900 s run covers, a tenth kept as headroom', [
    { endpoint: 'v1 meter events, 1,000/s', tenants: reportTenants(limits.stripeV1EventsPerSecond) },
    { endpoint: 'v2 meter event stream, 10,000/s', tenants: reportTenants(limits.stripeV2EventsPerSecond) },
  ]);
}
