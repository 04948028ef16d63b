import { functionSpecs } from '../../infra/catalog.js';
import { createOpenApi } from './openapi.js';

export const handler = createOpenApi(Object.values(functionSpecs).flatMap((spec) => spec.routes ?? []));
