import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { functionSpecs } from './catalog.js';
import { acknowledge } from './nag.js';
import type { StageConfig } from './stage.js';

/** Secrets the stack always holds, with the value format operators put into them. */
const describedSecrets: Record<string, string> = {
  stripe: 'Stripe secret key for the jobs that write to Stripe, JSON: {"secretKey": "sk_live_..."}',
  'stripe-webhook':
    'Stripe webhook signing secret and a restricted read-only key, JSON: {"webhookSecret": "whsec_...", "secretKey": "rk_live_..."}',
  'stripe-portal': 'Stripe restricted key that can only create customer portal sessions, JSON: {"secretKey": "rk_live_..."}',
  'email-links':
    'The key that signs the links in mails (verification, preferences, unsubscribe): the random value CloudFormation generates; a new value voids the links in mails already sent',
  cursor: 'The key that signs pagination cursors: the random value CloudFormation generates; a new value voids the cursors handed out',
};

/** The environment variable that gives a function the ARN of a secret it reads (never its value). */
export function secretArnEnv(name: string): string {
  return `${name.replace(/[^A-Za-z0-9]+/g, '_').toUpperCase()}_SECRET_ARN`;
}

/**
 * One Secrets Manager secret per name, for every name a catalog function lists in `secrets` plus the
 * described ones. CloudFormation creates them with a random placeholder; operators set the real value.
 */
export class Secrets extends Construct {
  readonly byName: Record<string, Secret>;

  constructor(scope: Construct, id: string, stage: StageConfig) {
    super(scope, id);
    const names = new Set([...Object.keys(describedSecrets), ...Object.values(functionSpecs).flatMap((spec) => spec.secrets ?? [])]);
    this.byName = Object.fromEntries(
      [...names].map((name) => {
        const secret = new Secret(this, name, {
          secretName: `meterline/${stage.name}/${name}`,
          description: describedSecrets[name] ?? `Meterline ${name}`,
          removalPolicy: stage.dataRemovalPolicy,
        });
        acknowledge(secret, {
          'AwsSolutions-SMG4':
            'Third-party credentials (Stripe keys) are rolled in the issuer, not by a rotation Lambda; docs/operations.md gives the procedure. The cursor key signs page positions that live minutes; a new value only voids them.',
        });
        return [name, secret];
      }),
    );
  }
}
