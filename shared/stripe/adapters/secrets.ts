import { getSecret } from '@aws-lambda-powertools/parameters/secrets';

export interface StripeSecrets {
  /** The API key the function calls Stripe with: the secret key, or for the webhook a restricted read-only key. */
  secretKey: string;
  /** The webhook endpoint's signing secret: only the webhook function has it. */
  webhookSecret?: string;
}

/**
 * The Stripe credentials of this function. In AWS each Stripe function reads one Secrets Manager secret, so
 * the public webhook and the tenant-facing portal route never hold the key that writes to Stripe: the webhook's
 * (STRIPE_WEBHOOK_SECRET_ARN, JSON `{"webhookSecret": "whsec_...", "secretKey": "rk_..."}`), the billing portal's
 * (STRIPE_PORTAL_SECRET_ARN, `{"secretKey": "rk_..."}`) or the jobs' (STRIPE_SECRET_ARN, `{"secretKey": "sk_..."}`),
 * cached for five minutes so a rotation reaches warm functions. Locally they come from STRIPE_SECRET_KEY and
 * STRIPE_WEBHOOK_SECRET. The values are never logged: errors name the source, not the content.
 */
export async function loadStripeSecrets(env: NodeJS.ProcessEnv = process.env): Promise<StripeSecrets> {
  const arn = env.STRIPE_WEBHOOK_SECRET_ARN ?? env.STRIPE_PORTAL_SECRET_ARN ?? env.STRIPE_SECRET_ARN;
  if (arn) {
    const secret = await getSecret<Partial<StripeSecrets>>(arn, { transform: 'json', maxAge: 300 });
    if (!secret?.secretKey) throw new Error('the Stripe secret in Secrets Manager needs secretKey');
    if (env.STRIPE_WEBHOOK_SECRET_ARN && !secret.webhookSecret)
      throw new Error('the Stripe webhook secret in Secrets Manager needs webhookSecret');
    return { secretKey: secret.secretKey, ...(secret.webhookSecret ? { webhookSecret: secret.webhookSecret } : {}) };
  }
  if (!env.STRIPE_SECRET_KEY)
    throw new Error(
      'set STRIPE_SECRET_ARN, STRIPE_WEBHOOK_SECRET_ARN or STRIPE_PORTAL_SECRET_ARN, or STRIPE_SECRET_KEY (and STRIPE_WEBHOOK_SECRET)',
    );
  return { secretKey: env.STRIPE_SECRET_KEY, ...(env.STRIPE_WEBHOOK_SECRET ? { webhookSecret: env.STRIPE_WEBHOOK_SECRET } : {}) };
}
