import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { type TableName, tables } from '../shared/platform/dynamo/tables.js';
import { pascal } from './names.js';
import type { StageConfig } from './stage.js';

/** Every table in `shared/platform/dynamo/tables.ts`, on demand, encrypted, with point-in-time recovery. */
export class Tables extends Construct {
  readonly byName: Record<TableName, Table>;

  constructor(scope: Construct, id: string, stage: StageConfig) {
    super(scope, id);
    const entries = Object.entries(tables).map(([name, definition]) => {
      const table = new Table(this, pascal(name), {
        partitionKey: { name: 'pk', type: AttributeType.STRING },
        sortKey: definition.sortKey ? { name: 'sk', type: AttributeType.STRING } : undefined,
        timeToLiveAttribute: definition.ttl ? 'expiresAt' : undefined,
        // Metering traffic is bursty and per tenant; on demand needs no capacity planning and never throttles a quiet table awake.
        billingMode: BillingMode.PAY_PER_REQUEST,
        // AWS-managed key: encryption that shows in CloudTrail, without a key policy to keep in sync with every role.
        encryption: TableEncryption.AWS_MANAGED,
        // On in every stage: cheap, and dev is where a bad migration is most likely.
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        deletionProtection: stage.deletionProtection,
        removalPolicy: stage.dataRemovalPolicy,
      });
      if (definition.gsi1) {
        table.addGlobalSecondaryIndex({
          indexName: 'gsi1',
          partitionKey: { name: 'gsi1pk', type: AttributeType.STRING },
          sortKey: { name: 'gsi1sk', type: AttributeType.STRING },
          projectionType: ProjectionType.ALL,
        });
      }
      return [name, table] as const;
    });
    this.byName = Object.fromEntries(entries) as Record<TableName, Table>;
  }
}
