import type { APIGatewayProxyEventV2, APIGatewayRequestAuthorizerEventV2, SQSEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { createAdminApi } from '../../functions/admin/admin.js';
import { createAuthorizer } from '../../functions/authorizer/authorizer.js';
import { createConsumer } from '../../functions/consumer/consumer.js';
import { createIngest } from '../../functions/ingest/ingest.js';
import { createUsageApi } from '../../functions/usage/usage.js';
import { lambdaContext } from '../../local/lambda.js';
import type { RateLimitStore, TenantDirectory } from '../../shared/tenancy/ports.js';
import { officialSample } from '../support/events.js';

/** Every handler takes AWS's own sample events and answers them with a 4xx or a batch failure, never a crash. */
const httpSamples = ['apigw-v2-request-no-authorizer.json', 'apigw-v2-request-lambda-authorizer.json', 'apigw-v2-request-iam.json'];
const nothing = new Proxy({}, { get: () => async () => undefined }) as TenantDirectory & RateLimitStore;

const httpHandlers = {
  ingest: createIngest({
    meters: async () => new Map(),
    tenantExists: async () => true,
    existing: async () => new Map(),
    recordRejections: async () => undefined,
    keptEvents: async () => [],
    enqueue: async () => ({ failed: [], calls: 0 }),
    graceHours: 72,
    invoiced: async () => false,
    now: Date.now,
  }),
  usage: createUsageApi({
    meters: async () => [],
    series: async () => [],
    groupKeys: async () => [],
    readings: async () => [],
    distinctValues: async () => 0,
    timeZones: async () => undefined,
    now: Date.now,
  }),
  admin: createAdminApi({ directory: nothing, rateLimits: nothing, now: Date.now, newTenantId: () => 't' }),
};

describe('official sample events', () => {
  for (const sample of httpSamples) {
    for (const [name, handler] of Object.entries(httpHandlers)) {
      it(`${name} answers ${sample} with a coded 4xx`, async () => {
        const event = officialSample<APIGatewayProxyEventV2>(sample);
        // The routes of these functions are fixed; the sample's "$default" would be a 404, so also try a real route.
        for (const routeKey of [
          event.routeKey,
          name === 'ingest' ? 'POST /v1/events' : name === 'usage' ? 'GET /v1/usage/current' : 'GET /v1/admin/tenants',
        ]) {
          const res = await handler({ ...event, routeKey }, lambdaContext(name));
          expect(res.statusCode).toBeGreaterThanOrEqual(400);
          expect(res.statusCode).toBeLessThan(500);
          expect(JSON.parse(res.body!)).toHaveProperty('code');
        }
      });
    }
  }

  it('the authorizer denies a request without a Meterline key', async () => {
    const authorizer = createAuthorizer({ getApiKey: async () => undefined, getSession: async () => undefined });
    const event = officialSample<APIGatewayRequestAuthorizerEventV2>('apigw-v2-request-no-authorizer.json');
    expect(await authorizer(event)).toEqual({ isAuthorized: false });
  });

  it('the consumer reports the unreadable sample SQS message as a batch item failure', async () => {
    const consumer = createConsumer({
      commit: async () => ({ counted: [], duplicates: [], reused: [], quarantined: [], failed: [], writeUnits: 0 }),
      recordRejections: async () => undefined,
      publish: async () => undefined,
      streams: async () => false,
      now: Date.now,
    });
    const res = await consumer(officialSample<SQSEvent>('sqs-event.json'), lambdaContext('consumer'));
    expect(res).toEqual({ batchItemFailures: [{ itemIdentifier: 'MessageID_1' }] });
  });
});
