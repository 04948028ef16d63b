import { httpApi, json } from '../../shared/platform/http.js';
import { authorize } from '../../shared/tenancy/access.js';
import { openApiDocument } from './document.js';

/**
 * GET /v1/openapi.json: the API's OpenAPI 3.1 document, for any valid key (every route stays behind the
 * authorizer; the document holds nothing secret, but one rule for every route is simpler to keep true).
 */
export function createOpenApi(routeKeys: string[]) {
  const body = JSON.stringify(openApiDocument(routeKeys));
  return httpApi(async (event) => {
    authorize(event);
    return { ...json(200, null), body };
  });
}
