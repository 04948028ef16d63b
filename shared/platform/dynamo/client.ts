import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * One document client per process. The endpoint comes from the SDK's own configuration
 * (AWS_ENDPOINT_URL_DYNAMODB locally), so the same code talks to DynamoDB Local and to AWS.
 */
export function documentClient(client: DynamoDBClient = new DynamoDBClient({})): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
    // Counters are decimals: keep DynamoDB's exact text instead of rounding through a JS number.
    unmarshallOptions: { wrapNumbers: (text: string) => (isSafeNumber(text) ? Number(text) : text) },
  });
}

/** Integers up to 2^53 and short decimals that survive a round trip through a double. */
function isSafeNumber(text: string): boolean {
  const n = Number(text);
  return Number.isFinite(n) && String(n) === text && (Number.isInteger(n) ? Number.isSafeInteger(n) : true);
}
