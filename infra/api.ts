import { Duration, NestedStack } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  type CfnStage,
  CorsHttpMethod,
  HttpApi,
  HttpMethod,
  HttpRoute,
  HttpRouteKey,
  HttpStage,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaAuthorizer, HttpLambdaResponseType } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { bucketOf } from '../shared/tenancy/rate-limits.js';
import { type FunctionName, type FunctionSpec, functionSpecs } from './catalog.js';
import { apiCors } from './cors.js';
import { pascal } from './names.js';
import type { StageConfig } from './stage.js';

export interface ApiProps {
  stage: StageConfig;
  functions: Record<FunctionName, LambdaFunction>;
  /** Browser origins allowed to call the API (the hosted dashboard). */
  allowedOrigins: string[];
}

// One JSON line per request, with the tenant the authorizer resolved, so access logs join application logs on
// requestId and tenantId.
const accessLogFormat = AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    time: '$context.requestTime',
    ip: '$context.identity.sourceIp',
    userAgent: '$context.identity.userAgent',
    routeKey: '$context.routeKey',
    status: '$context.status',
    responseLength: '$context.responseLength',
    latencyMs: '$context.responseLatency',
    integrationLatencyMs: '$context.integrationLatency',
    tenantId: '$context.authorizer.tenantId',
    keyId: '$context.authorizer.keyId',
    role: '$context.authorizer.role',
    authorizerError: '$context.authorizer.error',
    integrationError: '$context.integrationErrorMessage',
  }),
);

/** The HTTP API: every catalog route behind the API-key authorizer, throttled, with access logs. */
export class Api extends Construct {
  readonly httpApi: HttpApi;
  readonly stage: HttpStage;
  /** The routes with their integrations, invoke permissions and authorizer: a nested stack with its own 500 resources. */
  readonly routes: NestedStack;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    this.httpApi = new HttpApi(this, 'HttpApi', {
      apiName: `meterline-${props.stage.name}`,
      createDefaultStage: false,
      corsPreflight: {
        allowOrigins: props.allowedOrigins,
        allowHeaders: [...apiCors.allowHeaders],
        allowMethods: apiCors.allowMethods.map((m) => CorsHttpMethod[m]),
        maxAge: Duration.seconds(apiCors.maxAgeSeconds),
      },
    });
    const accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.stage.logRetention,
      removalPolicy: props.stage.dataRemovalPolicy,
    });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: props.stage.apiThrottle,
      accessLogSettings: { destination: new LogGroupLogDestination(accessLogs), format: accessLogFormat },
    });

    // The authorizer answers every well-formed request, even with an unknown key (role "anonymous"), so the
    // routes can say why in the error contract. Its answer is cached per Authorization header for five minutes:
    // one DynamoDB read per key per five minutes, and a revoked key stops working within that time.
    const authorizer = new HttpLambdaAuthorizer('ApiKeyAuthorizer', props.functions.authorizer, {
      authorizerName: 'api-key',
      responseTypes: [HttpLambdaResponseType.SIMPLE],
      identitySource: ['$request.header.Authorization'],
      resultsCacheTtl: Duration.seconds(300),
    });

    // Each route is a resource and the catalog has about ninety, so they live in a nested stack of their own (with the
    // integrations, permissions and authorizer they bind), which leaves the main stack room for features.
    this.routes = new NestedStack(this, 'Routes', { description: `Meterline ${props.stage.name} API routes` });
    const added: HttpRoute[] = [];
    for (const [name, spec] of Object.entries(functionSpecs) as [FunctionName, FunctionSpec][]) {
      if (!spec.routes?.length) continue;
      // One invoke permission per function for the whole API, not one per route. The function still answers only the
      // routes integrated with it.
      const integration = new HttpLambdaIntegration(`${pascal(name)}Integration`, props.functions[name], {
        scopePermissionToRoute: false,
      });
      for (const route of spec.routes) {
        const [method, path] = parseRoute(route);
        added.push(
          new HttpRoute(this.routes, `${method}${path}`, {
            httpApi: this.httpApi,
            routeKey: HttpRouteKey.with(path, method),
            integration,
            authorizer,
          }),
        );
      }
    }

    // The rate-limited tenant routes get the lower per-route throttle, as settings of the stage (no resource of their
    // own), spelt as CloudFormation spells them since the property is plain JSON; a setting must name a route that
    // exists, so the stage follows the routes.
    const { rateLimit, burstLimit } = props.stage.tenantRouteThrottle;
    const limited = Object.values(functionSpecs).flatMap((spec) => (spec.routes ?? []).filter((route) => bucketOf(route)));
    const cfnStage = this.stage.node.defaultChild as CfnStage;
    cfnStage.routeSettings = Object.fromEntries(
      limited.map((route) => [route, { ThrottlingRateLimit: rateLimit, ThrottlingBurstLimit: burstLimit }]),
    );
    for (const route of added) cfnStage.node.addDependency(route);
  }

  get url(): string {
    return this.stage.url;
  }
}

function parseRoute(route: string): [HttpMethod, string] {
  const [method, path] = route.split(' ');
  if (!path || !Object.values(HttpMethod).includes(method as HttpMethod)) throw new Error(`Bad route in infra/catalog.ts: "${route}"`);
  return [method as HttpMethod, path];
}
