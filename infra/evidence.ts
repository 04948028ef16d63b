import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type CfnBucket,
  ObjectLockRetention,
  ObjectOwnership,
  StorageClass,
} from 'aws-cdk-lib/aws-s3';
import { ContextAttribute, Schedule, ScheduleExpression, type ScheduleGroup, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { Universal } from 'aws-cdk-lib/aws-scheduler-targets';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledge } from './nag.js';
import { deadLetterQueue } from './schedules.js';
import type { StageConfig } from './stage.js';

export interface EvidenceProps {
  stage: StageConfig;
  /** The raw event ledger (TTL: the ledger retention, at least 35 days after an event was received). */
  ledger: Table;
  group: ScheduleGroup;
  logBucket: Bucket;
}

/**
 * On the 1st of each month at 03:00 UTC. The ledger keeps an event at least 35 days after it was received and PITR
 * covers the last 35 days, so monthly full exports (at most 31 days apart) hold every event at least once, and a
 * missed export can still be taken afterwards at any time within the PITR window.
 */
export const ledgerExportSchedule = 'cron(0 3 1 * ? *)';

/**
 * Usage evidence beyond the ledger's TTL: a monthly full export of the ledger (DynamoDB export to S3, which needs
 * point-in-time recovery, on for every table) into a bucket that keeps it as long as an invoice can be disputed
 * and, in prod, locks it (Object Lock, compliance mode) so nobody can delete or overwrite it before then. Scheduler
 * calls DynamoDB's ExportTableToPointInTime itself: no function to run or patch.
 */
export class Evidence extends Construct {
  readonly bucket: Bucket;
  /** Exports Scheduler could not start after its retries (PITR off, permissions, throttling): each holds its input. */
  readonly failureQueue: Queue;

  constructor(scope: Construct, id: string, props: EvidenceProps) {
    super(scope, id);
    this.failureQueue = deadLetterQueue(this, 'ExportFailures', props.stage, 'Scheduler’s, set on the ledger export');
    const days = props.stage.evidenceRetentionDays;
    this.bucket = new Bucket(this, 'LedgerExports', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: BucketEncryption.S3_MANAGED,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      ...(props.stage.evidenceObjectLock
        ? { objectLockEnabled: true, objectLockDefaultRetention: ObjectLockRetention.compliance(Duration.days(days)) }
        : {}),
      lifecycleRules: [
        {
          // Read only when an invoice is disputed: Glacier Instant Retrieval still answers in milliseconds.
          transitions: days > 90 ? [{ storageClass: StorageClass.GLACIER_INSTANT_RETRIEVAL, transitionAfter: Duration.days(90) }] : [],
          expiration: Duration.days(days),
          noncurrentVersionExpiration: Duration.days(1),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
      serverAccessLogsBucket: props.logBucket,
      serverAccessLogsPrefix: 'ledger-exports/',
      // Evidence outlives the stack in every stage; the generated name lets a destroyed dev stack deploy again.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const role = new Role(this, 'ExportRole', {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account, 'aws:SourceArn': props.group.scheduleGroupArn } },
      }),
    });
    acknowledge(role, {
      [`AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(this.bucket.node.defaultChild as CfnBucket)}.Arn>/ledger/*]`]:
        'DynamoDB writes each export under the ledger/ prefix with names it generates; the role can write nowhere else.',
    });
    new Schedule(this, 'LedgerExport', {
      scheduleGroup: props.group,
      description: 'Meterline ledger export to S3 (usage evidence)',
      schedule: ScheduleExpression.expression(ledgerExportSchedule),
      target: new Universal({
        service: 'dynamodb',
        action: 'exportTableToPointInTime',
        role,
        input: ScheduleTargetInput.fromObject({
          TableArn: props.ledger.tableArn,
          S3Bucket: this.bucket.bucketName,
          S3Prefix: 'ledger',
          ExportFormat: 'DYNAMODB_JSON',
          ExportType: 'FULL_EXPORT',
          // The same execution's retries start one export, not several.
          ClientToken: ContextAttribute.executionId,
        }),
        policyStatements: [
          new PolicyStatement({ actions: ['dynamodb:ExportTableToPointInTime'], resources: [props.ledger.tableArn] }),
          // What DynamoDB needs to write the export under the caller's identity.
          new PolicyStatement({
            actions: ['s3:PutObject', 's3:PutObjectAcl', 's3:AbortMultipartUpload'],
            resources: [this.bucket.arnForObjects('ledger/*')],
          }),
        ],
        retryAttempts: 3,
        maxEventAge: Duration.hours(6),
        // Its own queue, so that its alarm names the export rather than some job.
        deadLetterQueue: this.failureQueue,
      }),
    });
  }
}
