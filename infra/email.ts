import { CfnParameter, type Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import { EventBus, type IEventBus, Rule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { CfnConfigurationSet, CfnConfigurationSetEventDestination } from 'aws-cdk-lib/aws-ses';
import { Construct } from 'constructs';
import { emailQueueSettings } from './catalog.js';
import { WorkerQueue } from './worker-queue.js';

export interface EmailProps {
  stageName: string;
  /** The Meterline bus: every domain event on it is mailed to its recipients. */
  eventBus: IEventBus;
  consumerTimeout: Duration;
  removalPolicy: RemovalPolicy;
}

/**
 * Email through Amazon SES: the sending identity (the From address, a stack parameter naming an identity verified in
 * SES), the operators' addresses, a configuration set that publishes bounces and complaints to the account's default
 * event bus (the only bus SES publishes to), and the email queue both buses feed: every Meterline domain event, and
 * SES's bounces and complaints, which the email worker turns into suppressions. docs/email.md gives the setup.
 */
export class Email extends Construct {
  readonly queue: WorkerQueue;
  readonly configurationSetName: string;
  readonly from: string;
  readonly operators: string;

  constructor(scope: Construct, id: string, props: EmailProps) {
    super(scope, id);
    this.queue = new WorkerQueue(this, 'Emails', {
      purpose: 'email',
      consumerTimeout: props.consumerTimeout,
      settings: emailQueueSettings,
      removalPolicy: props.removalPolicy,
    });
    const stack = Stack.of(this);
    this.from = new CfnParameter(stack, 'EmailFrom', {
      type: 'String',
      description:
        'The From address of Meterline mail, e.g. "Meterline <billing@your-company.com>": an address or domain verified in SES in this region (docs/email.md).',
      minLength: 3,
    }).valueAsString;
    this.operators = new CfnParameter(stack, 'OperatorEmails', {
      type: 'String',
      description:
        'Comma-separated addresses of the operators, who receive Stripe report failures, reconciliation mismatches and silent tenants.',
      default: '',
    }).valueAsString;
    const configurationSet = new CfnConfigurationSet(this, 'ConfigurationSet', {
      name: `meterline-${props.stageName}`,
      reputationOptions: { reputationMetricsEnabled: true },
      sendingOptions: { sendingEnabled: true },
    });
    this.configurationSetName = configurationSet.ref;
    new CfnConfigurationSetEventDestination(this, 'BouncesAndComplaints', {
      configurationSetName: configurationSet.ref,
      eventDestination: {
        enabled: true,
        matchingEventTypes: ['BOUNCE', 'COMPLAINT'],
        eventBridgeDestination: { eventBusArn: EventBus.fromEventBusName(this, 'DefaultBus', 'default').eventBusArn },
      },
    });
    const target = new SqsQueue(this.queue.queue, { deadLetterQueue: this.queue.deadLetterQueue });
    new Rule(this, 'DomainEventsRule', {
      eventBus: props.eventBus,
      description: 'Meterline domain events to the email worker',
      eventPattern: { source: ['meterline'] },
      targets: [target],
    });
    new Rule(this, 'SesEventsRule', {
      description: "SES's bounces and complaints of Meterline mail to the email worker (suppression)",
      eventPattern: {
        source: ['aws.ses'],
        detailType: ['Email Bounced', 'Email Complaint Received'],
        detail: { mail: { tags: { 'ses:configuration-set': [configurationSet.ref] } } },
      },
      targets: [target],
    });
  }
}
