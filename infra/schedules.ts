import { Duration, Stack } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { ContextAttribute, Schedule, ScheduleExpression, ScheduleGroup, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { ScheduledInvocation } from '../shared/platform/schedule.js';
import { type FunctionName, type FunctionSpec, functionSpecs } from './catalog.js';
import { acknowledge } from './nag.js';
import type { StageConfig } from './stage.js';
import { secureQueue } from './usage-queue.js';
import { pascal } from './names.js';

export interface SchedulesProps {
  stage: StageConfig;
  functions: Record<FunctionName, NodejsFunction>;
}

/** An EventBridge Scheduler schedule for every catalog function with a `schedule`, in one group per stage. */
export class Schedules extends Construct {
  /** Invocations Scheduler gave up on; each holds the input, so a run can be replayed by hand. */
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: SchedulesProps) {
    super(scope, id);
    const group = new ScheduleGroup(this, 'Group', { scheduleGroupName: `meterline-${props.stage.name}` });
    this.deadLetterQueue = secureQueue(this, 'DeadLetterQueue', { retentionPeriod: Duration.days(14) });
    acknowledge(this.deadLetterQueue, {
      'AwsSolutions-SQS3': 'This queue is itself a dead-letter queue (Scheduler’s, set on each schedule target, which the rule does not see).',
    });

    for (const [name, spec] of Object.entries(functionSpecs) as [FunctionName, FunctionSpec][]) {
      if (!spec.schedule) continue;
      const input: ScheduledInvocation = { source: 'meterline.schedule', schedule: name, time: ContextAttribute.scheduledTime };
      const fn = props.functions[name];
      // A role per schedule, assumable only by Scheduler on behalf of this stage's group, that can invoke one function.
      const role = new Role(this, `${pascal(name)}Role`, {
        assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
          conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account, 'aws:SourceArn': group.scheduleGroupArn } },
        }),
      });
      acknowledge(role, {
        [`AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(fn.node.defaultChild as CfnFunction)}.Arn>:*]`]:
          'grantInvoke also covers the function’s versions and aliases (ARN:*); still this one function only.',
      });
      new Schedule(this, pascal(name), {
        scheduleGroup: group,
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
