import { resolve } from 'node:path';
import { BOOTSTRAP_QUALIFIER_CONTEXT, DefaultStackSynthesizer, DockerImage, Duration, Fn, Stack, Token } from 'aws-cdk-lib';
import {
  Distribution,
  HeadersFrameOption,
  HeadersReferrerPolicy,
  HttpVersion,
  ResponseHeadersPolicy,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { BlockPublicAccess, Bucket, BucketEncryption, type CfnBucket, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, Source } from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { writeDashboardSync } from '../dashboard/build.js';
import { acknowledge } from './nag.js';
import type { StageConfig } from './stage.js';

export interface DashboardHostingProps {
  stage: StageConfig;
  /** The API the dashboard calls (`https://<id>.execute-api.<region>.amazonaws.com/`): its origin is the one it may connect to. */
  apiUrl: string;
}

/**
 * The browser may run only the dashboard's own scripts and styles, and talk only to its origin and the API: an
 * injected script can neither load code from elsewhere nor send a session token anywhere else.
 */
export function contentSecurityPolicy(apiOrigin: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self' ${apiOrigin}`,
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join('; ');
}

/** The dashboard's static files: a private bucket that only CloudFront (through origin access control) can read. */
export class DashboardHosting extends Construct {
  readonly bucket: Bucket;
  readonly logBucket: Bucket;
  readonly distribution: Distribution;

  constructor(scope: Construct, id: string, props: DashboardHostingProps) {
    super(scope, id);
    const { stage } = props;
    const privateBucket = { blockPublicAccess: BlockPublicAccess.BLOCK_ALL, enforceSSL: true, removalPolicy: stage.dataRemovalPolicy };
    this.logBucket = new Bucket(this, 'AccessLogs', {
      ...privateBucket,
      encryption: BucketEncryption.S3_MANAGED,
      // CloudFront standard logging writes with ACLs; this is the one bucket that keeps them enabled.
      objectOwnership: ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: Duration.days(stage.name === 'prod' ? 365 : 30) }],
    });
    acknowledge(this.logBucket, { 'AwsSolutions-S1': 'This is the access-log bucket; logging its own accesses would log forever.' });

    this.bucket = new Bucket(this, 'Site', {
      ...privateBucket,
      encryption: BucketEncryption.S3_MANAGED,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.logBucket,
      serverAccessLogsPrefix: 'site/',
    });

    this.distribution = new Distribution(this, 'Distribution', {
      comment: `Meterline ${stage.name} dashboard`,
      defaultRootObject: 'index.html',
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        responseHeadersPolicy: new ResponseHeadersPolicy(this, 'SecurityHeaders', {
          comment: `Meterline ${stage.name} dashboard: CSP, HSTS and the usual hardening headers`,
          securityHeadersBehavior: {
            // The API URL ends in "/"; an origin does not.
            contentSecurityPolicy: {
              contentSecurityPolicy: contentSecurityPolicy(Fn.join('', ['https://', Fn.select(2, Fn.split('/', props.apiUrl))])),
              override: true,
            },
            // Two years, the preload list's minimum; the *.cloudfront.net name itself cannot be preloaded.
            strictTransportSecurity: { accessControlMaxAge: Duration.days(730), includeSubdomains: true, override: true },
            contentTypeOptions: { override: true },
            frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
            referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN, override: true },
          },
        }),
      },
      // A single-page app: unknown paths are client-side routes, served by index.html.
      errorResponses: [403, 404].map((httpStatus) => ({
        httpStatus,
        responseHttpStatus: 200,
        responsePagePath: '/index.html',
        ttl: Duration.minutes(5),
      })),
      httpVersion: HttpVersion.HTTP2_AND_3,
      enableLogging: true,
      logBucket: this.logBucket,
      logFilePrefix: 'cloudfront/',
    });
    acknowledge(this.distribution, {
      'AwsSolutions-CFR4':
        'The default *.cloudfront.net certificate cannot pin TLS 1.2 (its policy is fixed at TLSv1); set minimumProtocolVersion TLS_V1_2_2021 when a custom domain and ACM certificate are attached.',
      'AwsSolutions-CFR1': 'Tenants are worldwide; the dashboard holds no data of its own (it calls the authenticated API).',
      'AwsSolutions-CFR2':
        'Static files only; the API it calls has its own throttling and authorizer. Attach a WAF web ACL (us-east-1) when a custom domain is added.',
    });
    this.upload(props.apiUrl);
  }

  /**
   * Builds the dashboard at synth (local esbuild, never Docker) and uploads it with its config.json
   * (the API's URL); the deployment then invalidates the distribution, so `cdk deploy` ships it.
   */
  private upload(apiUrl: string): void {
    const source = Source.asset(resolve(import.meta.dirname, '..', 'dashboard'), {
      bundling: {
        // Required by the API but never used: local bundling always succeeds.
        image: DockerImage.fromRegistry('node:22-alpine'),
        local: { tryBundle: (outputDir) => (writeDashboardSync(outputDir), true) },
      },
    });
    const deployment = new BucketDeployment(this, 'Upload', {
      sources: [source, Source.jsonData('config.json', { apiUrl })],
      destinationBucket: this.bucket,
      distribution: this.distribution,
      distributionPaths: ['/*'],
      memoryLimit: 512,
    });
    // BucketDeployment allows the invalidation actions on every resource (aws-cdk-lib writes "*" and offers no option);
    // CloudFront authorizes them per distribution, so a deny confines them to this one.
    const invalidations = ['cloudfront:CreateInvalidation', 'cloudfront:GetInvalidation'];
    deployment.handlerRole.addToPrincipalPolicy(
      new PolicyStatement({ effect: Effect.DENY, actions: invalidations, notResources: [this.distribution.distributionArn] }),
    );
    // The deployment's handler is one CDK-managed function per stack (its role sits under it).
    acknowledge(deployment.handlerRole.node.scope!, {
      'AwsSolutions-L1': 'CDK manages the BucketDeployment handler and its runtime; it moves with aws-cdk-lib upgrades.',
      'Serverless-LambdaLatestVersion': 'CDK manages the BucketDeployment handler and its runtime; it moves with aws-cdk-lib upgrades.',
      'Serverless-LambdaTracing':
        'The upload runs once per deployment inside CloudFormation, which reports its failure; there is nothing to trace.',
      'Serverless-LambdaDLQ':
        'Invoked synchronously by CloudFormation as a custom resource: a failure fails the deployment, never an event to keep.',
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]':
        'The CDK BucketDeployment handler uses AWSLambdaBasicExecutionRole for its own logs only.',
      ...Object.fromEntries(
        ['Action::s3:GetObject*', 'Action::s3:GetBucket*', 'Action::s3:List*', 'Action::s3:DeleteObject*', 'Action::s3:Abort*'].map(
          (finding) => [
            `AwsSolutions-IAM5[${finding}]`,
            'The grants BucketDeployment makes to copy the asset into the dashboard bucket and prune stale files: those two buckets only.',
          ],
        ),
      ),
      [`AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(this.bucket.node.defaultChild as CfnBucket)}.Arn>/*]`]:
        'Every object of the dashboard bucket: the upload replaces the whole site.',
      [`AwsSolutions-IAM5[Resource::${bootstrapAssetObjects(this)}]`]:
        "The CDK bootstrap asset bucket, where the built dashboard is staged; the asset's key is only known at deploy time.",
      'AwsSolutions-IAM5[Resource::*]':
        'cloudfront:CreateInvalidation and GetInvalidation, which BucketDeployment allows on "*"; the deny beside it confines them to this distribution.',
    });
  }

  get origin(): string {
    return `https://${this.distribution.distributionDomainName}`;
  }
}

/**
 * The bootstrap asset bucket's objects as cdk-nag prints them: what synthesis knows literally (`cdk synth` passes the
 * region it deploys to, us-east-1 when none is configured; the partition follows from it) and the rest as
 * CloudFormation pseudo parameters, so the acknowledgement holds in every region and partition, and with none.
 */
function bootstrapAssetObjects(scope: Construct): string {
  const stack = Stack.of(scope);
  const known = (value: string, pseudo: string) => (Token.isUnresolved(value) ? `<AWS::${pseudo}>` : value);
  const placeholders: Record<string, string> = {
    Qualifier: scope.node.tryGetContext(BOOTSTRAP_QUALIFIER_CONTEXT) ?? DefaultStackSynthesizer.DEFAULT_QUALIFIER,
    'AWS::AccountId': known(stack.account, 'AccountId'),
    'AWS::Region': known(stack.region, 'Region'),
  };
  const bucket = DefaultStackSynthesizer.DEFAULT_FILE_ASSETS_BUCKET_NAME.replace(
    /\$\{([\w:]+)\}/g,
    (_, name: string) => placeholders[name]!,
  );
  return `arn:${known(stack.partition, 'Partition')}:s3:::${bucket}/*`;
}
