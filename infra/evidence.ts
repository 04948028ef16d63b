import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { CfnTable, Table } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
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
import { StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import {
  Choice,
  Condition,
  DefinitionBody,
  Fail,
  LogLevel,
  StateMachine,
  StateMachineType,
  Succeed,
  Wait,
  WaitTime,
} from 'aws-cdk-lib/aws-stepfunctions';
import { CallAwsService } from 'aws-cdk-lib/aws-stepfunctions-tasks';
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
 * and, in prod, locks it (Object Lock, compliance mode) so nobody can delete or overwrite it before then.
 */
export class Evidence extends Construct {
  readonly bucket: Bucket;
  /** Runs Scheduler could not start after its retries: each holds its input. */
  readonly failureQueue: Queue;
  /** Starts the export and follows it to COMPLETED or FAILED; a failed or timed-out execution is a missed export. */
  readonly workflow: StateMachine;

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

    // A Step Functions workflow starts the export and follows it to the end (exports run minutes to hours), so an export
    // that starts and then fails is a failed execution with an alarm on it, not a line in `list-exports` nobody reads.
    // It calls DynamoDB itself (AWS SDK integrations): no function to run or patch.
    const exportJob = new CallAwsService(this, 'StartExport', {
      service: 'dynamodb',
      action: 'exportTableToPointInTime',
      parameters: {
        TableArn: props.ledger.tableArn,
        S3Bucket: this.bucket.bucketName,
        S3Prefix: 'ledger',
        ExportFormat: 'DYNAMODB_JSON',
        ExportType: 'FULL_EXPORT',
        // One export per scheduled run, however often Scheduler retries the start or an operator re-runs it.
        'ClientToken.$': "States.Format('ledger-{}', $.scheduledTime)",
      },
      iamResources: [props.ledger.tableArn],
      // What DynamoDB needs to write the export under the caller's identity.
      additionalIamStatements: [
        new PolicyStatement({
          actions: ['s3:PutObject', 's3:PutObjectAcl', 's3:AbortMultipartUpload'],
          resources: [this.bucket.arnForObjects('ledger/*')],
        }),
      ],
      resultSelector: { 'exportArn.$': '$.ExportDescription.ExportArn' },
    });
    const describe = new CallAwsService(this, 'DescribeExport', {
      service: 'dynamodb',
      action: 'describeExport',
      parameters: { 'ExportArn.$': '$.exportArn' },
      iamResources: [`${props.ledger.tableArn}/export/*`],
      resultSelector: {
        'exportArn.$': '$.ExportDescription.ExportArn',
        'status.$': '$.ExportDescription.ExportStatus',
        'failure.$': "States.Format('{}: {}', $.ExportDescription.FailureCode, $.ExportDescription.FailureMessage)",
      },
    });
    for (const task of [exportJob, describe])
      task.addRetry({ errors: ['States.TaskFailed'], interval: Duration.minutes(1), maxAttempts: 5, backoffRate: 2 });
    const wait = new Wait(this, 'WhileExporting', { time: WaitTime.duration(Duration.minutes(15)) });
    const definition = exportJob
      .next(wait)
      .next(describe)
      .next(
        new Choice(this, 'Finished?')
          .when(Condition.stringEquals('$.status', 'COMPLETED'), new Succeed(this, 'Exported'))
          .when(
            Condition.stringEquals('$.status', 'FAILED'),
            new Fail(this, 'ExportFailed', { error: 'ExportFailed', causePath: '$.failure' }),
          )
          .otherwise(wait),
      );
    this.workflow = new StateMachine(this, 'Workflow', {
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromChainable(definition),
      // A full export of a large ledger takes hours; a day means it is stuck.
      timeout: Duration.days(1),
      tracingEnabled: true,
      logs: {
        destination: new LogGroup(this, 'WorkflowLogs', {
          retention: props.stage.logRetention,
          removalPolicy: props.stage.dataRemovalPolicy,
        }),
        level: LogLevel.ALL,
      },
    });
    acknowledge(this.workflow, {
      [`AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(this.bucket.node.defaultChild as CfnBucket)}.Arn>/ledger/*]`]:
        'DynamoDB writes each export under the ledger/ prefix with names it generates; the workflow can write nowhere else.',
      [`AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(props.ledger.node.defaultChild as CfnTable)}.Arn>/export/*]`]:
        'Export ARNs are generated by DynamoDB under the ledger table; the workflow can only describe the ledger’s exports.',
      'AwsSolutions-IAM5[Resource::*]':
        'Step Functions’ X-Ray and log delivery actions take no resource-level permissions (CDK’s generated statements).',
    });
    new Schedule(this, 'LedgerExport', {
      scheduleGroup: props.group,
      description: 'Meterline ledger export to S3 (usage evidence)',
      schedule: ScheduleExpression.expression(ledgerExportSchedule),
      target: new StepFunctionsStartExecution(this.workflow, {
        input: ScheduleTargetInput.fromObject({ scheduledTime: ContextAttribute.scheduledTime }),
        retryAttempts: 3,
        maxEventAge: Duration.hours(6),
        // Its own queue, so that its alarm names the export rather than some job.
        deadLetterQueue: this.failureQueue,
      }),
    });
  }
}
