import { CreateTableCommand, type DynamoDBClient, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import {
  emailQueueSettings,
  type FunctionSpec,
  functionSpecs,
  reportQueueSettings,
  usageQueueSettings,
  webhookQueueSettings,
} from '../infra/catalog.js';
import { type TableName, tables } from '../shared/platform/dynamo/tables.js';

type TableEntry = [TableName, (typeof tables)[TableName]];

/** The environment that names every table under `prefix` (what the functions read), before the tables exist. */
export function tableEnv(prefix: string): Record<string, string> {
  return Object.fromEntries((Object.entries(tables) as TableEntry[]).map(([name, def]) => [def.env, `${prefix}-${name}`]));
}

/**
 * Creates every table under `prefix`, all at once (keeping those that exist, so a stack restarts on its data), and
 * returns the environment that names them.
 */
export async function createTables(client: DynamoDBClient, prefix: string): Promise<Record<string, string>> {
  await Promise.all((Object.entries(tables) as TableEntry[]).map(([name, def]) => createTable(client, `${prefix}-${name}`, def)));
  return tableEnv(prefix);
}

async function createTable(client: DynamoDBClient, tableName: string, def: (typeof tables)[TableName]): Promise<void> {
  const attributes = [{ AttributeName: 'pk', AttributeType: 'S' as const }];
  if (def.sortKey) attributes.push({ AttributeName: 'sk', AttributeType: 'S' });
  if (def.gsi1) attributes.push({ AttributeName: 'gsi1pk', AttributeType: 'S' }, { AttributeName: 'gsi1sk', AttributeType: 'S' });
  const created = await client
    .send(
      new CreateTableCommand({
        TableName: tableName,
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
    )
    .then(
      () => true,
      (error: Error) => {
        if (error.name === 'ResourceInUseException') return false;
        throw error;
      },
    );
  if (created && def.ttl) {
    await client.send(
      new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true } }),
    );
  }
}

export interface Queues {
  usageQueueUrl: string;
  usageDlqUrl: string;
  webhookQueueUrl: string;
  webhookDlqUrl: string;
  reportQueueUrl: string;
  reportDlqUrl: string;
  emailQueueUrl: string;
  emailDlqUrl: string;
}

/**
 * The usage, webhook delivery, report and email queues and their DLQs, with the same redrive policies as in AWS
 * (`visibilityTimeoutSeconds`: the usage queue's; `reportVisibilityTimeoutSeconds`: the report queue's, six worker
 * timeouts as in AWS unless a test needs a crashed slice back sooner).
 */
export async function createQueues(
  sqs: SQSClient,
  prefix: string,
  visibilityTimeoutSeconds: number,
  reportVisibilityTimeoutSeconds?: number,
): Promise<Queues> {
  const create = async (name: string, maxReceiveCount: number, visibility = visibilityTimeoutSeconds) => {
    const dlq = await sqs.send(
      new CreateQueueCommand({ QueueName: `${prefix}-${name}-dlq`, Attributes: { MaximumMessageSize: '1048576' } }),
    );
    const dlqArn = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }));
    const queue = await sqs.send(
      new CreateQueueCommand({
        QueueName: `${prefix}-${name}`,
        Attributes: {
          MaximumMessageSize: '1048576',
          VisibilityTimeout: String(visibility),
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn.Attributes!.QueueArn, maxReceiveCount }),
        },
      }),
    );
    return [queue.QueueUrl!, dlq.QueueUrl!] as const;
  };
  // As in AWS (six worker timeouts): a delivery or a slice still being worked is never handed to a second worker.
  const longestTimeout = (consumes: (spec: FunctionSpec) => boolean | undefined) =>
    Math.max(
      ...Object.values(functionSpecs)
        .filter(consumes)
        .map((s) => s.timeoutSeconds),
    );
  const [[usageQueueUrl, usageDlqUrl], [webhookQueueUrl, webhookDlqUrl], [reportQueueUrl, reportDlqUrl], [emailQueueUrl, emailDlqUrl]] =
    await Promise.all([
      create('usage', usageQueueSettings.maxReceiveCount),
      create('webhooks', webhookQueueSettings.maxReceiveCount, longestTimeout((s) => s.consumesWebhookQueue) * 6),
      create(
        'reports',
        reportQueueSettings.maxReceiveCount,
        reportVisibilityTimeoutSeconds ?? longestTimeout((s) => s.consumesReportQueue) * 6,
      ),
      create('emails', emailQueueSettings.maxReceiveCount, longestTimeout((s) => s.consumesEmailQueue) * 6),
    ]);
  return { usageQueueUrl, usageDlqUrl, webhookQueueUrl, webhookDlqUrl, reportQueueUrl, reportDlqUrl, emailQueueUrl, emailDlqUrl };
}
