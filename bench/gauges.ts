import type { PutItemCommandInput, TransactWriteItemsCommandInput } from '@aws-sdk/client-dynamodb';
import { startLocalStack } from '../local/stack.js';
import { chunk } from '../shared/kernel/batching.js';
import { DynamoUsageWriter } from '../shared/metering/adapters/usage-writer.js';
import type { UsageEvent } from '../shared/metering/events.js';
import type { Aggregation } from '../shared/metering/meters.js';
import { documentClient } from '../shared/platform/dynamo/client.js';
import { printTable } from './report.js';
import { recordingWrites, transactionWriteUnits, writeUnits } from './write-units.js';

/**
 * `npm run bench -- gauges`: write units per event of each aggregation as the consumer's store folds it, by AWS's rules
 * (./write-units.ts), beside today's kinds: 1,000 events over one day, in messages of 1 event (the worst case: a receipt
 * and every counter per event) and of 100 (the queue's packed messages, where events of one hour share counters).
 * AVG folds as SUM does (its sum and count are the counter's value and event count); MIN as MAX; TIME_WEIGHTED writes
 * its hour/day/month event counts and one reading item per event (under its own group only).
 */
const total = 1_000;
const HOUR = 3_600_000;

export async function gauges() {
  const stack = await startLocalStack({ consumerConcurrency: 1 });
  const transactions: TransactWriteItemsCommandInput[] = [];
  const puts: PutItemCommandInput[] = [];
  // The stack sets the endpoint in the environment, as the consumer's own client finds it.
  const client = recordingWrites(transactions, puts);
  const recording = new DynamoUsageWriter(documentClient(client), {
    eventsTable: stack.env.EVENTS_TABLE!,
    countersTable: stack.env.COUNTERS_TABLE!,
    ledgerRetentionDays: 40,
  });
  const kinds: [Aggregation, boolean][] = [
    ['SUM', false],
    ['MAX', false],
    ['LATEST', false],
    ['AVG', false],
    ['MIN', false],
    ['TIME_WEIGHTED', false],
    ['SUM', true],
    ['AVG', true],
    ['TIME_WEIGHTED', true],
  ];
  const rows = [];
  const start = Date.now() - 30 * HOUR;
  try {
    for (const perMessage of [1, 100]) {
      for (const [aggregation, grouped] of kinds) {
        const meter = `${aggregation.toLowerCase()}_${grouped ? 'grouped' : 'total'}_${perMessage}`;
        const events: UsageEvent[] = Array.from({ length: total }, (_, i) => {
          const timestamp = new Date(start + Math.floor((i * 24 * HOUR) / total)).toISOString();
          return {
            tenantId: 'bench',
            id: `${meter}-${i}`,
            meter,
            aggregation,
            timestamp,
            value: String((i * 37) % 1000),
            groupKey: grouped ? `region=${['eu', 'us', 'ap'][i % 3]}` : '',
            payloadHash: `h${i}`,
            receivedAt: timestamp,
          };
        });
        transactions.length = 0;
        puts.length = 0;
        for (const [n, batch] of chunk(events, perMessage).entries()) {
          const outcome = await recording.commit([{ id: `${meter}-m${n}`, events: batch }]);
          if (outcome.counted.length !== batch.length) throw new Error(`${meter}: ${batch.length - outcome.counted.length} not counted`);
        }
        const claims = puts.reduce((s, p) => s + writeUnits(p.Item ?? {}), 0);
        const folds = transactions.reduce((s, t) => s + transactionWriteUnits(t.TransactItems ?? []), 0);
        // Items as the document client passes them on (plain values at this step).
        const readingItems = transactions.flatMap((t) =>
          (t.TransactItems ?? []).filter((i) => String((i.Put?.Item as { sk?: unknown } | undefined)?.sk ?? '').startsWith('reading#')),
        );
        rows.push({
          aggregation: `${aggregation}${grouped ? ' (grouped)' : ''}`,
          'events/message': perMessage,
          'ledger claim WCU/event': claims / total,
          'fold WCU/event': folds / total,
          'WCU/event (AWS rules)': (claims + folds) / total,
          'items/event in folds': transactions.reduce((s, t) => s + (t.TransactItems?.length ?? 0), 0) / total,
          'reading items/event': readingItems.length / total,
        });
      }
    }
  } finally {
    await stack.stop();
  }
  printTable(`Write units per event by aggregation (${total} events over one day, as the consumer's store folds them)`, rows);
}
