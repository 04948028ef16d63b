import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, describe, expect, it } from 'vitest';
import { loadStripeSecrets } from '../../shared/stripe/adapters/secrets.js';

/** Each Stripe function's credentials: its own Secrets Manager secret in AWS, the environment locally. */
describe('Stripe secrets', () => {
  const secrets = mockClient(SecretsManagerClient);
  const stored: Record<string, object> = {
    'arn:webhook': { webhookSecret: 'whsec_1', secretKey: 'rk_1' },
    'arn:webhook-without-signing-secret': { secretKey: 'rk_2' },
    'arn:jobs': { secretKey: 'sk_3' },
    'arn:jobs-without-key': { webhookSecret: 'whsec_4' },
  };
  secrets.on(GetSecretValueCommand).callsFake(({ SecretId }) => ({ SecretString: JSON.stringify(stored[String(SecretId)]) }));
  afterAll(() => secrets.restore());
  const region = { AWS_REGION: 'us-east-1' };

  it("gives the webhook its signing secret and read-only key, and the jobs their key, from each one's secret", async () => {
    expect(await loadStripeSecrets({ ...region, STRIPE_WEBHOOK_SECRET_ARN: 'arn:webhook' })).toEqual({
      secretKey: 'rk_1',
      webhookSecret: 'whsec_1',
    });
    expect(await loadStripeSecrets({ ...region, STRIPE_SECRET_ARN: 'arn:jobs', STRIPE_SECRET_KEY: 'sk_ignored' })).toEqual({
      secretKey: 'sk_3',
    });
  });

  it('refuses a secret without the field its function needs, naming the field and not the content', async () => {
    const webhook = loadStripeSecrets({ ...region, STRIPE_WEBHOOK_SECRET_ARN: 'arn:webhook-without-signing-secret' });
    await expect(webhook).rejects.toThrow('the Stripe webhook secret in Secrets Manager needs webhookSecret');
    await expect(webhook).rejects.not.toThrow(/rk_2/);
    await expect(loadStripeSecrets({ ...region, STRIPE_SECRET_ARN: 'arn:jobs-without-key' })).rejects.toThrow(
      'the Stripe secret in Secrets Manager needs secretKey',
    );
  });

  it('takes the keys from the environment locally, and says what to set when there are none', async () => {
    expect(await loadStripeSecrets({ STRIPE_SECRET_KEY: 'sk_local', STRIPE_WEBHOOK_SECRET: 'whsec_local' })).toEqual({
      secretKey: 'sk_local',
      webhookSecret: 'whsec_local',
    });
    expect(await loadStripeSecrets({ STRIPE_SECRET_KEY: 'sk_local' })).toEqual({ secretKey: 'sk_local' });
    await expect(loadStripeSecrets({})).rejects.toThrow(
      /set STRIPE_SECRET_ARN, STRIPE_WEBHOOK_SECRET_ARN or STRIPE_PORTAL_SECRET_ARN, or STRIPE_SECRET_KEY/,
    );
  });
});
