import type { Documents } from '../../platform/dynamo/documents.js';
import { eventKey } from '../events.js';
import type { LedgerReads, QuarantineReplay, ReplayOutcome } from '../ports.js';
import { QUARANTINED } from './table-items.js';
import type { DynamoUsageWriter } from './usage-writer.js';

export interface QuarantineReplayOptions {
  eventsTable: string;
  ledger: Pick<LedgerReads, 'get'>;
  /** The writer whose transaction counts the event and turns its entry counted at once. */
  writer: Pick<DynamoUsageWriter, 'foldQuarantined'>;
  now?: () => number;
}

/** Replays a quarantined event from its ledger entry; one still refused keeps its entry, with the new reason. */
export class DynamoQuarantineReplay implements QuarantineReplay {
  private readonly now: () => number;

  constructor(
    private readonly db: Documents,
    private readonly options: QuarantineReplayOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  async replay(tenantId: string, id: string): Promise<ReplayOutcome> {
    const entry = await this.options.ledger.get(tenantId, id);
    if (!entry || entry.status !== QUARANTINED) return { status: 'not-quarantined' };
    const { status: _status, countedAt: _countedAt, quarantinedAt: _at, quarantineReason: _reason, ...event } = entry;
    const outcome = await this.options.writer.foldQuarantined(event);
    const still = outcome.quarantined[0];
    if (still) {
      await this.db.update({
        TableName: this.options.eventsTable,
        Key: { pk: eventKey(event) },
        UpdateExpression: 'SET quarantineReason = :reason, replayFailedAt = :at',
        ConditionExpression: '#status = :q',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':reason': still.reason.slice(0, 1024),
          ':at': new Date(this.now()).toISOString(),
          ':q': QUARANTINED,
        },
      });
      return { status: 'quarantined', reason: still.reason };
    }
    if (outcome.counted.length > 0) return { status: 'counted' };
    if (outcome.duplicates.length > 0) return { status: 'duplicate' };
    return { status: 'failed' };
  }
}
