import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isCatchAll, openApiDocument, operations } from '../../functions/openapi/document.js';
import { createOpenApi } from '../../functions/openapi/openapi.js';
import { functionSpecs } from '../../infra/catalog.js';
import { httpEvent } from '../../local/http-event.js';
import { lambdaContext } from '../../local/lambda.js';
import { clientTypes, clientTypesPath } from '../../scripts/openapi.js';

const routes = Object.values(functionSpecs)
  .flatMap((spec) => spec.routes ?? [])
  .filter((r) => !isCatchAll(r));

/** Formatting aside (a formatter may rewrite quotes, indentation and separators). */
const shape = (ts: string) => ts.replace(/\s+/g, '').replace(/"/g, "'").replace(/[;,]/g, '');

describe('the OpenAPI document', () => {
  it('describes exactly the routes in infra/catalog.ts', () => {
    expect(Object.keys(operations).sort()).toEqual([...routes].sort());
    const doc = openApiDocument(routes) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toBe('3.1.0');
    const described = Object.entries(doc.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`));
    expect(described.sort()).toEqual([...routes].sort());
  });

  it('takes request bodies and queries from the zod schemas the handlers validate with', () => {
    const doc = openApiDocument(routes) as { paths: Record<string, Record<string, any>>; components: { schemas: Record<string, any> } };
    expect(
      doc.paths['/v1/admin/tenants/{tenantId}/meters/{meter}']!.put.requestBody.content['application/json'].schema.properties.aggregation
        .enum,
    ).toEqual(['SUM', 'COUNT', 'MAX', 'MIN', 'AVG', 'LATEST', 'TIME_WEIGHTED', 'UNIQUE_COUNT']);
    expect(doc.paths['/v1/usage']!.get.parameters.map((p: { name: string }) => p.name)).toEqual([
      'meter',
      'granularity',
      'from',
      'to',
      'groupBy',
      'group',
    ]);
    expect(doc.components.schemas.NativeEvent.required).toEqual(['id', 'meter', 'timestamp']);
    expect(doc.components.schemas.NativeEvent.properties.tenant).toBeDefined();
  });

  it('is served at GET /v1/openapi.json', async () => {
    const handler = createOpenApi(routes);
    const res = await handler(httpEvent({ routeKey: 'GET /v1/openapi.json' }), lambdaContext('openapi'));
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body as string).paths['/v1/events'].post.responses['202']).toBeDefined();
  });

  it('gives the Node client its types (npm run openapi is up to date)', async () => {
    expect(shape(readFileSync(clientTypesPath, 'utf8'))).toBe(shape(await clientTypes()));
  });
});
