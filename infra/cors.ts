/**
 * The HTTP API's CORS configuration: the CDK stack gives it to API Gateway and the local gateway plays it, so a
 * browser sees the same answers from `npm start` as from AWS. Any origin (infra/stack.ts says why).
 */
export const apiCors = {
  allowOrigins: ['*'],
  allowHeaders: ['authorization', 'content-type'],
  allowMethods: ['GET', 'POST', 'PUT', 'DELETE'],
  maxAgeSeconds: 3600,
} as const;

export type ApiCors = typeof apiCors;
