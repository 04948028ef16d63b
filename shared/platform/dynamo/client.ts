import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Documents } from './documents.js';
import { unmarshallNumber } from './numbers.js';

/**
 * The stores' calls over the AWS SDK's document client: for tools and tests that configure an SDK client
 * (its endpoint, its middleware for injected faults). The endpoint comes from the SDK's own configuration.
 */
export function documentClient(client: DynamoDBClient = new DynamoDBClient({})): Documents {
  const db = DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
    unmarshallOptions: { wrapNumbers: unmarshallNumber },
  });
  return {
    get: (input) => db.send(new GetCommand(input)),
    put: (input) => db.send(new PutCommand(input)),
    update: (input) => db.send(new UpdateCommand(input)),
    delete: (input) => db.send(new DeleteCommand(input)),
    query: (input) => db.send(new QueryCommand(input)),
    scan: (input) => db.send(new ScanCommand(input)),
    batchGet: (input) => db.send(new BatchGetCommand(input)),
    batchWrite: (input) => db.send(new BatchWriteCommand(input)),
    transactWrite: (input) => db.send(new TransactWriteCommand(input)),
  };
}
