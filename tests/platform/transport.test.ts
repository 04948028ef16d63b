import { createHash, createHmac } from 'node:crypto';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { NumberValueImpl as NumberValue } from '@aws-sdk/util-dynamodb';
import { SignatureV4 } from '@smithy/signature-v4';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { signatureV4 } from '../../shared/platform/aws/signature.js';
import { httpSendMessageBatch } from '../../shared/platform/aws/sqs.js';
import { documentClient } from '../../shared/platform/dynamo/client.js';
import type { Documents } from '../../shared/platform/dynamo/documents.js';
import { httpDocuments } from '../../shared/platform/dynamo/http-documents.js';
import { emulatorEndpoints } from '../support/stack.js';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const local = { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' };

const toBytes = (d: string | ArrayBuffer | ArrayBufferView) =>
  typeof d === 'string' ? d : ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : new Uint8Array(d);

/** node:crypto in the shape the SDK's signer takes. */
class Sha256 {
  private readonly hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret ? createHmac('sha256', toBytes(secret)) : createHash('sha256');
  }
  update(data: string | ArrayBuffer | ArrayBufferView) {
    this.hash.update(toBytes(data));
  }
  async digest() {
    return new Uint8Array(this.hash.digest());
  }
}

describe('Signature Version 4', () => {
  it('signs exactly as the AWS SDK signer does', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ maxLength: 300 }),
        fc.constantFrom('DynamoDB_20120810.PutItem', 'AmazonSQS.SendMessageBatch'),
        // Half from three days, so kept signing keys sign again.
        fc.oneof(
          fc.date({ min: new Date('2020-01-01'), max: new Date('2035-01-01'), noInvalidDate: true }),
          fc.date({ min: new Date('2026-03-07'), max: new Date('2026-03-09T23:59:59Z'), noInvalidDate: true }),
        ),
        fc.option(fc.base64String({ minLength: 4, maxLength: 64 }), { nil: undefined }),
        fc.constantFrom('/', '/000000000000/usage queue'),
        // The signing keys are kept by secret, day, region and service: a key of one must never sign for another.
        fc.constantFrom(credentials.secretAccessKey, 'a-second-secret-key'),
        fc.constantFrom('eu-west-1', 'us-east-1'),
        async (body, target, when, sessionToken, path, secretAccessKey, region) => {
          const now = new Date(Math.floor(when.getTime() / 1000) * 1000);
          const url = new URL(`https://dynamodb.${region}.amazonaws.com${path}`);
          const creds = { ...credentials, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
          const headers = { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': target };
          const ours = signatureV4({ method: 'POST', url, headers, body }, { service: 'dynamodb', region }, creds, now);
          const sdk = await new SignatureV4({
            service: 'dynamodb',
            region,
            credentials: creds,
            sha256: Sha256,
            applyChecksum: false,
          }).sign(
            {
              method: 'POST',
              protocol: 'https:',
              hostname: url.hostname,
              path: url.pathname,
              headers: { ...headers, host: url.host },
              body,
            },
            { signingDate: now },
          );
          expect(ours.authorization).toBe(sdk.headers.authorization);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('the HTTP transport against DynamoDB Local, beside the SDK document client', () => {
  const endpoint = emulatorEndpoints().dynamoEndpoint;
  const sdkClient = new DynamoDBClient({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const transports: [string, Documents][] = [
    ['sdk', documentClient(sdkClient)],
    ['http', httpDocuments({ ...local, AWS_ENDPOINT_URL_DYNAMODB: endpoint })],
  ];
  const table = `transport-${Date.now()}`;
  const ready = sdkClient.send(
    new CreateTableCommand({
      TableName: table,
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );

  const item = (pk: string) => ({
    pk,
    sk: 'a',
    big: new NumberValue('123456789012345678.123456789'),
    small: 42,
    text: 'héllo',
    bytes: Buffer.from([0, 1, 2, 255]),
    nested: { list: [1, 'two', { three: Buffer.from('3') }], flag: true, nothing: null },
    tags: new Set(['x', 'y']),
  });

  it.each(transports)('%s: puts, reads, updates and deletes items with the same values', async (name, db) => {
    await ready;
    const pk = `item-${name}`;
    await db.put({ TableName: table, Item: item(pk) });
    const got = (await db.get({ TableName: table, Key: { pk, sk: 'a' } })).Item!;
    expect(got.big).toBe('123456789012345678.123456789');
    expect(got.small).toBe(42);
    expect(Buffer.from(got.bytes as Uint8Array)).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(Buffer.from((got.nested as { list: [number, string, { three: Uint8Array }] }).list[2].three).toString()).toBe('3');
    expect(got.nested).toMatchObject({ flag: true, nothing: null });
    expect(got.tags).toEqual(new Set(['x', 'y']));
    const updated = await db.update({
      TableName: table,
      Key: { pk, sk: 'a' },
      UpdateExpression: 'ADD small :n',
      ExpressionAttributeValues: { ':n': new NumberValue('0.5') },
      ReturnValues: 'ALL_NEW',
    });
    expect(updated.Attributes?.small).toBe(42.5);
    await db.delete({ TableName: table, Key: { pk, sk: 'a' } });
    expect((await db.get({ TableName: table, Key: { pk, sk: 'a' } })).Item).toBeUndefined();
  });

  it.each(transports)('%s: names a failed condition and a cancelled transaction as DynamoDB does', async (name, db) => {
    await ready;
    const pk = `cond-${name}`;
    await db.put({ TableName: table, Item: { pk, sk: 'a', n: 1 } });
    const failed = await db
      .put({ TableName: table, Item: { pk, sk: 'a' }, ConditionExpression: 'attribute_not_exists(pk)' })
      .catch((e: Error) => e);
    expect((failed as Error).name).toBe('ConditionalCheckFailedException');
    const cancelled = await db
      .transactWrite({
        TransactItems: [
          { Put: { TableName: table, Item: { pk, sk: 'b' } } },
          {
            Put: {
              TableName: table,
              Item: { pk, sk: 'a' },
              ConditionExpression: 'attribute_not_exists(pk)',
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            },
          },
        ],
      })
      .catch((e: Error) => e);
    expect((cancelled as Error).name).toBe('TransactionCanceledException');
    const reasons = (cancelled as unknown as { CancellationReasons: { Code: string; Item?: Record<string, { S?: string }> }[] })
      .CancellationReasons;
    expect(reasons.map((r) => r.Code)).toEqual(['None', 'ConditionalCheckFailed']);
    expect(reasons[1]!.Item?.pk).toEqual({ S: pk });
    const refused = await db.put({ TableName: table, Item: { pk, sk: '' } }).catch((e: Error) => e);
    expect((refused as Error).name).toBe('ValidationException');
  });

  it.each(transports)('%s: pages a query, batch-writes and batch-reads', async (name, db) => {
    await ready;
    const pk = `batch-${name}`;
    await db.batchWrite({
      RequestItems: {
        [table]: Array.from({ length: 25 }, (_, i) => ({ PutRequest: { Item: { pk, sk: String(i).padStart(2, '0'), i } } })),
      },
    });
    const seen: number[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await db.query({
        TableName: table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': pk },
        Limit: 10,
        ExclusiveStartKey: start,
      });
      seen.push(...(page.Items ?? []).map((x) => x.i as number));
      start = page.LastEvaluatedKey;
    } while (start);
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => i));
    const got = await db.batchGet({
      RequestItems: {
        [table]: {
          Keys: [
            { pk, sk: '03' },
            { pk, sk: '07' },
          ],
          ProjectionExpression: 'i',
        },
      },
    });
    expect(got.Responses?.[table]?.map((x) => x.i).sort()).toEqual([3, 7]);
  });
});

describe('SendMessageBatch over the JSON protocol', () => {
  it('puts messages on the SQS emulator that the SDK then receives', async () => {
    const endpoint = emulatorEndpoints().sqsEndpoint;
    const sqs = new SQSClient({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `transport-${Date.now()}` }));
    const send = httpSendMessageBatch({ ...local, AWS_ENDPOINT_URL_SQS: endpoint });
    const result = await send({
      QueueUrl,
      Entries: [
        { Id: 'a', MessageBody: 'first' },
        { Id: 'b', MessageBody: 'ünïcode' },
      ],
    });
    expect(result.Successful?.map((s) => s.Id).sort()).toEqual(['a', 'b']);
    const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    expect(got.Messages?.map((m) => m.Body).sort()).toEqual(['first', 'ünïcode']);
  });
});
