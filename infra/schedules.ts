import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { CfnFunction, Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { ContextAttribute, Schedule, ScheduleExpression, ScheduleGroup, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { ScheduledInvocation } from '../shared/platform/schedule.js';
import { type FunctionName, type FunctionSpec, functionSpecs } from './catalog.js';
import { acknowledge } from './nag.js';
import { pascal } from './names.js';
import type { StageConfig } from './stage.js';
import { secureQueue } from './usage-queue.js';

export interface SchedulesProps {
  stage: StageConfig;
  functions: Record<FunctionName, LambdaFunction>;
}

/** A scheduled function, with where its failed runs go and how often it should run. */
export interface Job {
  name: FunctionName;
  fn: LambdaFunction;
  /** Runs that failed after Lambda's retries: each message holds the run's input (`requestPayload`) and its error. */
  failureQueue: Queue;
  /** The longest time between two runs. */
  interval: Duration;
}

/** Lambda's retries of a failed run (it waits about one, then two minutes); then the run goes to the failure queue. */
export const jobRetryAttempts = 2;
/** A run that could not start within this time (throttled behind a run still going) goes to the failure queue too. */
export const jobMaxEventAge = Duration.hours(1);

/**
 * An EventBridge Scheduler schedule for every catalog function with a `schedule`, in one group per stage.
 * Scheduler invokes asynchronously, so it only sees delivery failures (its DLQ); a run that throws is retried by
 * Lambda and then lands in the job's failure queue (an on-failure destination), which docs/operations.md replays.
 */
export class Schedules extends Construct {
  readonly group: ScheduleGroup;
  /** Invocations Scheduler could not deliver; each holds the input, so a run can be replayed by hand. */
  readonly deadLetterQueue: Queue;
  readonly jobs: Job[] = [];

  constructor(scope: Construct, id: string, props: SchedulesProps) {
    super(scope, id);
    // A generated name and no retention: the group holds no data, and a fixed retained name would block the next
    // deployment after a `cdk destroy`.
    this.group = new ScheduleGroup(this, 'Group', { removalPolicy: RemovalPolicy.DESTROY });
    this.deadLetterQueue = deadLetterQueue(this, 'DeadLetterQueue', props.stage, 'Scheduler’s, set on each schedule target');

    for (const [name, spec] of Object.entries(functionSpecs) as [FunctionName, FunctionSpec][]) {
      if (!spec.schedule) continue;
      const input: ScheduledInvocation = { source: 'meterline.schedule', schedule: name, time: ContextAttribute.scheduledTime };
      const fn = props.functions[name];
      const failureQueue = deadLetterQueue(this, `${pascal(name)}Failures`, props.stage, 'the function’s on-failure destination');
      fn.configureAsyncInvoke({
        onFailure: new SqsDestination(failureQueue),
        retryAttempts: jobRetryAttempts,
        maxEventAge: jobMaxEventAge,
      });
      this.jobs.push({ name, fn, failureQueue, interval: scheduleInterval(spec.schedule) });

      // A role per schedule, assumable only by Scheduler on behalf of this stage's group, that can invoke one function.
      const role = new Role(this, `${pascal(name)}Role`, {
        assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
          conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account, 'aws:SourceArn': this.group.scheduleGroupArn } },
        }),
      });
      acknowledge(role, {
        [`AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(fn.node.defaultChild as CfnFunction)}.Arn>:*]`]:
          'grantInvoke also covers the function’s versions and aliases (ARN:*); still this one function only.',
      });
      new Schedule(this, pascal(name), {
        scheduleGroup: this.group,
        description: `Meterline ${name}: ${spec.schedule}`,
        schedule: ScheduleExpression.expression(spec.schedule),
        target: new LambdaInvoke(fn, {
          role,
          input: ScheduleTargetInput.fromObject(input),
          // Jobs take the due time from the input, not the clock, so a retried run does the same work; a run
          // still failing after an hour goes to the DLQ (and its alarm) rather than piling up behind the next.
          retryAttempts: 3,
          maxEventAge: Duration.hours(1),
          deadLetterQueue: this.deadLetterQueue,
        }),
      });
    }
  }
}

/** A queue that holds failures for 14 days (the most SQS keeps a message), kept with the stack's data in prod. */
export function deadLetterQueue(scope: Construct, id: string, stage: StageConfig, whose: string): Queue {
  const queue = secureQueue(scope, id, { retentionPeriod: Duration.days(14), removalPolicy: stage.dataRemovalPolicy });
  acknowledge(queue, {
    'AwsSolutions-SQS3': `This queue is itself a dead-letter queue (${whose}, which the rule does not see).`,
    'Serverless-SQSRedrivePolicy': `This queue is itself a dead-letter queue (${whose}); a DLQ of a DLQ would only move the problem.`,
  });
  return queue;
}

/**
 * The longest time between two runs of a schedule expression, for the alarms that notice a run that never came:
 * `rate(n unit)`, or a cron with fixed minutes that runs every hour (`*` hours) or once a day (one hour).
 */
export function scheduleInterval(expression: string): Duration {
  const rate = /^rate\((\d+) (minutes?|hours?|days?)\)$/.exec(expression);
  if (rate) {
    const n = Number(rate[1]);
    return rate[2]!.startsWith('minute') ? Duration.minutes(n) : rate[2]!.startsWith('hour') ? Duration.hours(n) : Duration.days(n);
  }
  const cron = /^cron\((\d+) (\*|\d+) \* \* \? \*\)$/.exec(expression);
  if (cron) return cron[2] === '*' ? Duration.hours(1) : Duration.days(1);
  throw new Error(`infra/schedules.ts cannot tell how often "${expression}" runs; teach scheduleInterval this form`);
}
