import { Meterline } from '@meterline/client';
import { meterline } from '@meterline/client/middy';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2WithJWTAuthorizer as Event, APIGatewayProxyResultV2 as Result } from 'aws-lambda';

// A service key: one key posts usage for every customer of the product.
const client = new Meterline({ apiKey: process.env.METERLINE_API_KEY!, baseUrl: process.env.METERLINE_API_URL! });

export const handler = middy<Event, Result>()
  .use(
    meterline<Event, Result>({
      client,
      meter: 'api_calls',
      // The product's own auth says who the customer is; that customer is a Meterline tenant.
      tenant: (event) => event.requestContext.authorizer.jwt.claims.tenant_id as string | undefined,
      properties: ({ route, statusCode }) => ({ route, status: statusCode }),
      // Refuse with 429 once the tenant's hard quota on api_calls is used up.
      quota: { cacheTtlMs: 5_000 },
    }),
  )
  .handler(async (event) => ({ statusCode: 200, body: JSON.stringify({ estimate: event.pathParameters?.id }) }));
