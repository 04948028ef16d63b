import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  asFunction,
  describeCall,
  leadingKey,
  readRecord,
  recordAwsCalls,
  recordedCalls,
  settleAwsCalls,
  unrecorded,
} from '../../local/aws-calls.js';
import { httpSendMessageBatch } from '../../shared/platform/aws/sqs.js';
import { httpDocuments } from '../../shared/platform/dynamo/http-documents.js';

// The recorder behind the permission test (local/aws-calls.ts): it sees calls through both the small JSON transport
// and the SDK's clients, names the function that made them, and fails a run that makes a call the record lacks.
let server: Server;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  // Answers every call with an empty JSON object: only the requests matter here.
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' }).end('{}'));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  env = {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: url,
    AWS_ENDPOINT_URL_SQS: url,
    AWS_ENDPOINT_URL: url,
  };
  recordAwsCalls();
});
afterAll(() => new Promise<void>((done) => server.close(() => done())));

describe('AWS call recorder', () => {
  it('fails the run when a store starts scanning, naming the function, the action and the table', async () => {
    const db = httpDocuments(env);
    // A planted Scan, as a store's new code would make it inside the usage function's invocation.
    await asFunction('usage', () => db.scan({ TableName: 'meterline-1a2b3c-counters' }));
    // Test code's own calls (seeding, reading back) belong to no function.
    await db.get({ TableName: 'meterline-1a2b3c-tenants', Key: { pk: 'TENANT#acme', sk: 'PROFILE' } });
    expect(unrecorded(recordedCalls(), readRecord())).toEqual(['usage dynamodb:Scan table/counters']);

    const dir = mkdtempSync(join(tmpdir(), 'meterline-calls-'));
    try {
      const record = join(dir, 'aws-calls.json');
      writeFileSync(record, JSON.stringify(readRecord()));
      vi.stubEnv('AWS_CALLS', '');
      expect(() => settleAwsCalls(record)).toThrow(/usage dynamodb:Scan table\/counters\n.*AWS_CALLS=record/s);
    } finally {
      vi.unstubAllEnvs();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("sees the SDK's clients and the JSON transport alike, and the partitions each call touches", async () => {
    const bus = new EventBridgeClient({
      region: 'us-east-1',
      endpoint: env.AWS_ENDPOINT_URL,
      credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
    });
    await asFunction('invoicing', async () => {
      await bus.send(new PutEventsCommand({ Entries: [{ EventBusName: 'meterline-local', Source: 's', DetailType: 'd', Detail: '{}' }] }));
      await httpSendMessageBatch(env)({ QueueUrl: 'http://x/000000000000/meterline-1a2b3c-webhooks', Entries: [] });
      await httpDocuments(env).transactWrite({
        TransactItems: [
          { Put: { TableName: 'meterline-1a2b3c-billing', Item: { pk: 'TENANT#acme', sk: 'INVOICE#2026-01' } } },
          {
            ConditionCheck: {
              TableName: 'meterline-1a2b3c-tenants',
              Key: { pk: 'TENANT#acme', sk: 'PROFILE' },
              ConditionExpression: 'attribute_exists(pk)',
            },
          },
        ],
      });
    });
    expect(recordedCalls().invoicing).toEqual([
      'dynamodb:ConditionCheckItem table/tenants TENANT#*',
      'dynamodb:PutItem table/billing TENANT#*',
      'events:PutEvents bus/meterline',
      'sqs:SendMessage queue/webhooks',
    ]);
  });

  it('reads the partition a query asks for, on the base table or the index', () => {
    const query = (body: object) => describeCall('DynamoDB_20120810.Query', JSON.stringify(body));
    expect(
      query({
        TableName: 'p-tenants',
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: 'TENANTS' } },
      }),
    ).toEqual(['dynamodb:Query table/tenants/index/gsi1 TENANTS']);
    expect(
      query({
        TableName: 'p-tenants',
        KeyConditionExpression: '#k = :v AND begins_with(sk, :m)',
        ExpressionAttributeNames: { '#k': 'pk' },
        ExpressionAttributeValues: { ':v': { S: 'TENANT#acme' }, ':m': { S: 'METER#' } },
      }),
    ).toEqual(['dynamodb:Query table/tenants TENANT#*']);
  });

  it('keeps the tags of a partition key and stars its ids', () => {
    expect(leadingKey('TENANT#acme')).toBe('TENANT#*');
    expect(leadingKey('TENANT#acme#APIKEYS')).toBe('TENANT#*#APIKEYS');
    expect(leadingKey('APIKEY#0123abcd')).toBe('APIKEY#*');
    expect(leadingKey('TENANTS')).toBe('TENANTS');
    expect(leadingKey('acme#order-1')).toBe('*');
    expect(leadingKey('#fold#r-1')).toBe('#*');
    expect(leadingKey('INVOICE-NUMBER#2026')).toBe('INVOICE-NUMBER#*');
  });
});
