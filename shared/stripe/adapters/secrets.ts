import { getSecret } from '@aws-lambda-powertools/parameters/secrets';

export interface StripeSecrets {
  secretKey: string;
  webhookSecret: string;
}

/**
 * The Stripe secret key and webhook signing secret. In AWS they come from one Secrets Manager secret
 * (JSON `{"secretKey": "...", "webhookSecret": "..."}`) named by STRIPE_SECRET_ARN, cached for five
 * minutes so a rotation reaches warm functions; locally from STRIPE_SECRET_KEY and
 * STRIPE_WEBHOOK_SECRET. The values are never logged: errors name the source, not the content.
 */
export async function loadStripeSecrets(env: NodeJS.ProcessEnv = process.env): Promise<StripeSecrets> {
  if (env.STRIPE_SECRET_ARN) {
    const secret = await getSecret<Partial<StripeSecrets>>(env.STRIPE_SECRET_ARN, { transform: 'json', maxAge: 300 });
    if (!secret?.secretKey || !secret.webhookSecret) throw new Error('the Stripe secret in Secrets Manager needs secretKey and webhookSecret');
    return { secretKey: secret.secretKey, webhookSecret: secret.webhookSecret };
  }
  if (!env.STRIPE_SECRET_KEY || !env.STRIPE_WEBHOOK_SECRET) throw new Error('set STRIPE_SECRET_ARN, or STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET');
  return { secretKey: env.STRIPE_SECRET_KEY, webhookSecret: env.STRIPE_WEBHOOK_SECRET };
}
