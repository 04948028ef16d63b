import { Queue } from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { buildApp } from './synth.js';

describe('cdk-nag AwsSolutions and Serverless', () => {
  it.each(['dev', 'prod'] as const)('finds nothing unacknowledged in the %s stack', (stage) => {
    // In-memory synthesis throws with the validation report when any rule fails.
    expect(() => buildApp(stage).app.synth()).not.toThrow();
  });

  it('is wired in: an unencrypted queue without a DLQ fails synthesis under both packs', () => {
    const { app, stack } = buildApp('dev');
    new Queue(stack, 'Careless', { enforceSSL: false });
    expect(() => app.synth()).toThrow(
      /AwsSolutions-SQS3[\s\S]*Serverless-SQSRedrivePolicy|Serverless-SQSRedrivePolicy[\s\S]*AwsSolutions-SQS3/,
    );
  });
});
