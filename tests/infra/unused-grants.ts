import type { FunctionName } from '../../infra/catalog.js';

/**
 * The grants no recorded call uses, each with the reason it stays (tests/infra/permissions.test.ts). A grant that
 * is neither called nor here fails the test; so does an entry here that no unused grant needs any more.
 */
export interface UnusedGrant {
  /** The functions it is acknowledged for; every function when absent. */
  functions?: FunctionName[];
  actions: string[];
  /** The resources as the permission test names them (tests/infra/permissions.ts), `*` any run of characters. */
  resources: string[];
  /** Only where the function's code makes one of these calls on the same resource: an access it never uses is never acknowledged. */
  besideUse?: string[];
  reason: string;
}

/** Why an access level's other actions stay where the code uses the level. */
const levels = (level: 'read' | 'write') =>
  `A table grant is an access level (infra/catalog.ts), each a fixed set of actions (infra/functions.ts), so that a store's next ${level} needs no new grant; acknowledged only where the function's code ${level}s that table.`;

const consumers: FunctionName[] = ['consumer', 'webhook-delivery', 'usage-report-worker', 'email-delivery'];

export const unusedGrants: UnusedGrant[] = [
  {
    actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
    resources: ['logs/*'],
    reason: "Lambda writes the function's own log group with its role; the code never calls CloudWatch Logs.",
  },
  {
    functions: consumers,
    actions: ['sqs:ChangeMessageVisibility', 'sqs:GetQueueUrl', 'sqs:GetQueueAttributes'],
    resources: ['queue/usage', 'queue/webhooks', 'queue/reports', 'queue/emails'],
    reason:
      "The SQS event source mapping's grant (CDK's SqsEventSource): Lambda's poller uses the function's role, and the local poller plays only its receives and deletes.",
  },
  {
    actions: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
    resources: ['queue/*-failures'],
    reason:
      "A scheduled run that fails goes to its on-failure destination, which Lambda sends with the function's role (CDK's SqsDestination grants the three).",
  },
  {
    functions: ['billing-portal', 'usage-report-worker', 'stripe-webhook', 'invoicing', 'alert-evaluator'],
    actions: ['secretsmanager:GetSecretValue'],
    resources: ['secret/*'],
    reason:
      'shared/stripe/adapters/secrets.ts reads the Stripe keys from Secrets Manager in AWS; local runs have no Secrets Manager and read them from the environment.',
  },
  {
    functions: ['events', 'quarantine', 'alerts', 'usage-export-api'],
    actions: ['secretsmanager:GetSecretValue'],
    resources: ['secret/cursor'],
    reason:
      'shared/platform/dynamo/cursor.ts reads the cursor-signing key from Secrets Manager in AWS; a local process has no Secrets Manager and signs with a random key of its own.',
  },
  {
    functions: ['email-delivery', 'email-links'],
    actions: ['secretsmanager:GetSecretValue'],
    resources: ['secret/email-links'],
    reason:
      'shared/composition/email.ts reads the key that signs mail links from Secrets Manager in AWS; a local process has no Secrets Manager and signs with a random key of its own.',
  },
  {
    functions: ['email-delivery'],
    actions: ['ses:SendEmail', 'ses:SendRawEmail'],
    resources: ['arn:*:ses:*'],
    reason:
      'shared/alerts/adapters/ses-sender.ts sends through SES in AWS; the local stack sends the same messages over SMTP to its capturing server (local/mailbox.ts), which the SMTP-level test reads.',
  },
  {
    functions: ['email-delivery'],
    actions: ['sqs:SendMessage'],
    resources: ['queue/emails'],
    reason:
      'An email whose send failed is retried as a delayed message on its queue; the suite sends to an SMTP server that takes every message.',
  },
  {
    actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:ConditionCheckItem'],
    resources: ['table/*'],
    besideUse: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'],
    reason: levels('read'),
  },
  {
    actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem'],
    resources: ['table/*'],
    besideUse: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
    reason: levels('write'),
  },
  {
    functions: ['consumer', 'invoicing', 'billing-admin', 'usage-report-worker', 'stripe-webhook'],
    actions: [
      'events:PutEvents',
      'sqs:SendMessage',
      'dynamodb:GetItem',
      'dynamodb:BatchGetItem',
      'dynamodb:Query',
      'dynamodb:ConditionCheckItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
    ],
    resources: ['bus/meterline', 'queue/webhooks', 'table/webhooks'],
    reason:
      "Publishing a domain event (shared/alerts/notifications.ts) records and queues a delivery only for a tenant endpoint subscribed to its type; the suite subscribes endpoints to the alert evaluator's events, and makes the consumer's quarantine announcements through an injected publisher (tests/ingestion/poison.test.ts).",
  },
  {
    functions: ['recompute-worker'],
    actions: ['dynamodb:DeleteItem'],
    resources: ['table/counters'],
    reason:
      'A repair deletes a counter the ledger has no event for (MAX, LATEST) or a distinct-value marker it does not hold; the suite repairs only counters that the ledger still explains.',
  },
  {
    functions: ['alerts'],
    actions: ['dynamodb:DeleteItem'],
    resources: ['table/webhooks'],
    reason: 'DELETE /v1/webhooks/{endpointId} deletes the endpoint; no test removes an endpoint.',
  },
  {
    functions: ['usage-export'],
    actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:ConditionCheckItem'],
    resources: ['table/events'],
    besideUse: ['dynamodb:Scan'],
    reason:
      'A scan is granted on top of the read level (infra/catalog.ts `scans`), which brings its key reads; the export only scans the ledger.',
  },
];
