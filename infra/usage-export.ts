import { Duration, Stack } from 'aws-cdk-lib';
import { CfnWorkGroup } from 'aws-cdk-lib/aws-athena';
import { CfnDatabase, CfnTable } from 'aws-cdk-lib/aws-glue';
import { ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { BlockPublicAccess, Bucket, BucketEncryption, type CfnBucket, ObjectOwnership, StorageClass } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { EXPORT_PREFIX, EXPORT_STATE_KEY, exportColumns, partitionColumns } from '../shared/metering/usage-export.js';
import { acknowledge } from './nag.js';
import type { StageConfig } from './stage.js';

export interface UsageExportProps {
  stage: StageConfig;
  logBucket: Bucket;
}

/** The Glue database and table names: `SELECT ... FROM meterline_<stage>.usage`, the workgroup's default database. */
export const exportDatabaseName = (stage: StageConfig) => `meterline_${stage.name}`;
export const EXPORT_TABLE = 'usage';
/** The day partitions Athena projects from; events before it are not exported. */
export const EXPORT_FIRST_DAY = '2024-01-01';

/**
 * The Parquet export of counted usage (functions/usage-export) and what queries it: an encrypted bucket that moves
 * files to cheaper storage classes as they age and deletes them after the operator's retention, a Glue table with
 * partition projection (no crawler, no partitions to add: Athena computes `tenant=<t>/day=<d>/` from the query's
 * conditions), and an Athena workgroup whose results go to their own short-lived bucket and whose queries stop at a
 * scan limit. docs/usage-export.md says what each costs.
 */
export class UsageExport extends Construct {
  readonly bucket: Bucket;
  readonly resultsBucket: Bucket;
  readonly workGroup: CfnWorkGroup;
  readonly databaseName: string;

  constructor(scope: Construct, id: string, props: UsageExportProps) {
    super(scope, id);
    const { stage } = props;
    const privateBucket = {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: BucketEncryption.S3_MANAGED,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: stage.dataRemovalPolicy,
      serverAccessLogsBucket: props.logBucket,
    };
    const days = stage.exportRetentionDays;
    this.bucket = new Bucket(this, 'Files', {
      ...privateBucket,
      serverAccessLogsPrefix: 'usage-export/',
      lifecycleRules: [
        {
          prefix: EXPORT_PREFIX,
          // Recent days are queried most; older ones rarely, and Glacier Instant Retrieval still answers Athena in milliseconds.
          transitions: [
            { storageClass: StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(90) },
            ...(days > 365 ? [{ storageClass: StorageClass.GLACIER_INSTANT_RETRIEVAL, transitionAfter: Duration.days(365) }] : []),
          ],
          expiration: Duration.days(days),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
    });
    this.resultsBucket = new Bucket(this, 'QueryResults', {
      ...privateBucket,
      serverAccessLogsPrefix: 'athena-results/',
      // Results are read once, by whoever ran the query.
      lifecycleRules: [{ expiration: Duration.days(7), abortIncompleteMultipartUploadAfter: Duration.days(1) }],
    });

    const account = Stack.of(this).account;
    this.databaseName = exportDatabaseName(stage);
    const database = new CfnDatabase(this, 'Database', {
      catalogId: account,
      databaseInput: { name: this.databaseName, description: 'Meterline usage export' },
    });
    const location = `s3://${this.bucket.bucketName}/${EXPORT_PREFIX}`;
    const table = new CfnTable(this, 'Table', {
      catalogId: account,
      databaseName: this.databaseName,
      tableInput: {
        name: EXPORT_TABLE,
        description: 'Every counted usage event as it is counted now, one row per event',
        tableType: 'EXTERNAL_TABLE',
        partitionKeys: partitionColumns.map((c) => ({ name: c.name, type: c.sql })),
        parameters: {
          classification: 'parquet',
          'projection.enabled': 'true',
          // Injected: a query names its tenant (WHERE tenant = '...'), which also keeps one tenant's query off the others' files.
          'projection.tenant.type': 'injected',
          'projection.day.type': 'date',
          'projection.day.format': 'yyyy-MM-dd',
          'projection.day.range': `${EXPORT_FIRST_DAY},NOW`,
          'projection.day.interval': '1',
          'projection.day.interval.unit': 'DAYS',
          'storage.location.template': `${location}tenant=\${tenant}/day=\${day}/`,
        },
        storageDescriptor: {
          location,
          columns: exportColumns.map((c) => ({ name: c.name, type: c.sql })),
          inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
          serdeInfo: { serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
        },
      },
    });
    table.addResourceDependency(database);

    this.workGroup = new CfnWorkGroup(this, 'WorkGroup', {
      name: `meterline-${stage.name}`,
      description: 'Meterline usage SQL (npm run admin -- usage sql)',
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        // Queries cannot override the workgroup's settings: the scan limit and the results' place hold for everyone.
        enforceWorkGroupConfiguration: true,
        bytesScannedCutoffPerQuery: stage.exportQueryScanLimitBytes,
        publishCloudWatchMetricsEnabled: true,
        resultConfiguration: {
          outputLocation: `s3://${this.resultsBucket.bucketName}/`,
          encryptionConfiguration: { encryptionOption: 'SSE_S3' },
        },
      },
    });
  }

  /**
   * What the export's API reads, and nothing else: its files and its progress, got and listed. A function serving
   * every tenant cannot be confined to one tenant's prefix by IAM; the route takes the tenant from the caller's key.
   */
  grantReader(fn: LambdaFunction): void {
    this.grant(
      fn,
      'Reader',
      [
        new PolicyStatement({
          actions: ['s3:GetObject'],
          resources: [this.bucket.arnForObjects(`${EXPORT_PREFIX}*`), this.bucket.arnForObjects(EXPORT_STATE_KEY)],
        }),
      ],
      "The export's API reads the files of the caller's tenant, one file set per tenant and day under usage/; the role reaches nothing else in the bucket.",
    );
  }

  /**
   * What the export function does to the bucket, and nothing else: its files and its progress, read, written and
   * deleted (listing a partition's files finds those a smaller partition no longer has).
   */
  grantWriter(fn: LambdaFunction): void {
    this.grant(
      fn,
      'Writer',
      [
        new PolicyStatement({
          actions: ['s3:PutObject', 's3:GetObject', 's3:DeleteObject'],
          resources: [this.bucket.arnForObjects(`${EXPORT_PREFIX}*`)],
        }),
        new PolicyStatement({ actions: ['s3:PutObject', 's3:GetObject'], resources: [this.bucket.arnForObjects(EXPORT_STATE_KEY)] }),
      ],
      'The export writes one file set per tenant and day under usage/, named by tenant and day; the role reaches nothing else in the bucket.',
    );
  }

  /**
   * A managed policy here, beside the bucket, attached to the function's role: `objects`, and listing under usage/
   * only; cdk-nag's finding on the usage/ wildcard is acknowledged with `why`.
   */
  private grant(fn: LambdaFunction, role: 'Reader' | 'Writer', objects: PolicyStatement[], why: string): void {
    fn.addEnvironment('EXPORT_BUCKET', this.bucket.bucketName);
    const policy = new ManagedPolicy(this, `${fn.node.id}${role}`, {
      roles: [fn.role!],
      statements: [
        ...objects,
        new PolicyStatement({
          actions: ['s3:ListBucket'],
          resources: [this.bucket.bucketArn],
          conditions: { StringLike: { 's3:prefix': [`${EXPORT_PREFIX}*`] } },
        }),
      ],
    });
    const bucket = Stack.of(this).getLogicalId(this.bucket.node.defaultChild as CfnBucket);
    acknowledge(policy, { [`AwsSolutions-IAM5[Resource::<${bucket}.Arn>/${EXPORT_PREFIX}*]`]: why });
  }
}
