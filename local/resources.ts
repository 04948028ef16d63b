import { CreateTableCommand, type DynamoDBClient, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { usageQueueSettings } from '../infra/catalog.js';
import { type TableName, tables } from '../shared/platform/dynamo/tables.js';

/** Creates every table under `prefix` and returns the environment that names them. */
export async function createTables(client: DynamoDBClient, prefix: string): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const [name, def] of Object.entries(tables) as [TableName, (typeof tables)[TableName]][]) {
    const TableName = `${prefix}-${name}`;
    const attributes = [{ AttributeName: 'pk', AttributeType: 'S' as const }];
    if (def.sortKey) attributes.push({ AttributeName: 'sk', AttributeType: 'S' });
    if (def.gsi1) attributes.push({ AttributeName: 'gsi1pk', AttributeType: 'S' }, { AttributeName: 'gsi1sk', AttributeType: 'S' });
    await client.send(
      new CreateTableCommand({
        TableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: attributes,
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, ...(def.sortKey ? [{ AttributeName: 'sk', KeyType: 'RANGE' as const }] : [])],
        ...(def.gsi1
          ? {
              GlobalSecondaryIndexes: [
                {
                  IndexName: 'gsi1',
                  KeySchema: [
                    { AttributeName: 'gsi1pk', KeyType: 'HASH' },
                    { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
                  ],
                  Projection: { ProjectionType: 'ALL' },
                },
              ],
            }
          : {}),
      }),
    );
    if (def.ttl) {
      await client.send(new UpdateTimeToLiveCommand({ TableName, TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true } }));
    }
    env[def.env] = TableName;
  }
  return env;
}

export interface Queues {
  usageQueueUrl: string;
  usageDlqUrl: string;
}

/** The usage queue and its DLQ, with the same redrive policy as in AWS. */
export async function createQueues(sqs: SQSClient, prefix: string, visibilityTimeoutSeconds: number): Promise<Queues> {
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${prefix}-usage-dlq`, Attributes: { MaximumMessageSize: '1048576' } }));
  const dlqArn = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }));
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: `${prefix}-usage`,
      Attributes: {
        MaximumMessageSize: '1048576',
        VisibilityTimeout: String(visibilityTimeoutSeconds),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: dlqArn.Attributes!.QueueArn,
          maxReceiveCount: usageQueueSettings.maxReceiveCount,
        }),
      },
    }),
  );
  return { usageQueueUrl: queue.QueueUrl!, usageDlqUrl: dlq.QueueUrl! };
}
