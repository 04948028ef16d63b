import { CfnParameter } from 'aws-cdk-lib';
import type { Construct } from 'constructs';

/**
 * Domains reserved for documentation and testing (RFC 2606, RFC 6761): mail to them never reaches anyone, so an
 * alarm subscriber there is a placeholder left in place.
 */
const reservedDomain = /(^|\.)(example\.(com|net|org)|example|test|invalid|localhost)$/i;
const address = /^[^@\s]+@([^@\s]+\.[^@\s]+)$/;

const howToSet = (stage: string) =>
  `pass -c alarmEmail:${stage}=oncall@your-company.com (or set "alarmEmail:${stage}" in cdk.json's context), or leave it unset and give the stack's AlarmEmail parameter at deploy: npx cdk deploy -c stage=${stage} --parameters AlarmEmail=oncall@your-company.com`;

/** The subscriber given in context, checked: undefined when none is given; a placeholder or malformed address throws. */
export function alarmEmailFromContext(stage: string, value: unknown): string | undefined {
  if (value === undefined || value === '') return undefined;
  const email = typeof value === 'string' ? value.trim() : '';
  const domain = address.exec(email)?.[1];
  if (!domain) throw new Error(`alarmEmail:${stage} is not an e-mail address (${JSON.stringify(value)}): ${howToSet(stage)}`);
  if (reservedDomain.test(domain))
    throw new Error(`alarmEmail:${stage} is ${email}, at a reserved domain that never receives mail: ${howToSet(stage)}`);
  return email;
}

/**
 * The alarm subscriber: the address from context, or else a required stack parameter, so a fresh clone synthesizes
 * without configuration while CloudFormation refuses to deploy until someone names the address (and `cdk deploy`
 * keeps the previous value on later deploys).
 */
export function alarmSubscriber(scope: Construct, stage: string, fromContext: string | undefined): string {
  if (fromContext) return fromContext;
  return new CfnParameter(scope, 'AlarmEmail', {
    type: 'String',
    description: `Where ${stage} alarms are e-mailed (confirm the subscription mail AWS sends). ${howToSet(stage)}`,
    allowedPattern: address.source,
    constraintDescription: `must be an e-mail address: ${howToSet(stage)}`,
  }).valueAsString;
}
