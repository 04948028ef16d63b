import { Queue } from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { buildApp, synth } from './synth.js';

describe('cdk-nag AwsSolutions and Serverless', () => {
  it.each(['dev', 'prod'] as const)(
    'finds nothing unacknowledged in the %s stack',
    (stage) => {
      // In-memory synthesis throws with the validation report when any rule fails (the one the other infra files read).
      expect(() => synth(stage)).not.toThrow();
    },
    600_000,
  );

  // `cdk synth` passes a region (us-east-1 when none is configured), so findings name it and its partition literally;
  // the acknowledgements must follow. tests/infra/cli.test.ts runs the CLI itself with none and with eu-west-1.
  it.each(['ap-southeast-2'])(
    'finds nothing unacknowledged in prod deployed to %s',
    (region) => {
      expect(() => buildApp('prod', {}, { region }).app.synth()).not.toThrow();
    },
    600_000,
  );

  it('is wired in: an unencrypted queue without a DLQ fails synthesis under both packs, in the stack and its nested stack', () => {
    const { app, stack } = buildApp('dev');
    for (const scope of [stack, stack.monitoring]) new Queue(scope, 'Careless', { enforceSSL: false });
    const report = (() => {
      try {
        app.synth();
        return '';
      } catch (error) {
        return (error as Error).message;
      }
    })();
    // Each finding names its resource's path on the line after it, then the rule to acknowledge.
    const rules = (path: string) =>
      [...report.matchAll(new RegExp(`^\\s*${path}/Resource .*\\n.*'\\w+::([\\w-]+)'`, 'gm'))].map((m) => m[1]);
    for (const path of ['Meterline-dev/Careless', 'Meterline-dev/Monitoring/Careless'])
      expect(rules(path), path).toEqual(expect.arrayContaining(['AwsSolutions-SQS3', 'Serverless-SQSRedrivePolicy']));
  });
});
