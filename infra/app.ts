import { pathToFileURL } from 'node:url';
import { App, type Environment, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { alarmEmailFromContext } from './alarm-email.js';
import { MeterlineStack } from './stack.js';
import { stageConfig } from './stage.js';

/**
 * Builds the app for a stage (`-c stage=dev|prod`, default from cdk.json) with cdk-nag's AwsSolutions and
 * Serverless checks attached, so every synth (and `cdk deploy`) fails on an unacknowledged finding. The alarm
 * subscriber comes from `-c alarmEmail:<stage>=...` (or cdk.json's context) or, when none is given, from the stack's
 * `AlarmEmail` parameter at deploy time (infra/alarm-email.ts).
 */
export function createApp(
  app: App = new App(),
  env: Environment = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
): { app: App; stack: MeterlineStack } {
  const stage = stageConfig(app.node.tryGetContext('stage') ?? 'dev');
  const stack = new MeterlineStack(app, `Meterline-${stage.name}`, {
    stage,
    alarmEmail: alarmEmailFromContext(stage.name, app.node.tryGetContext(`alarmEmail:${stage.name}`)),
    description: `Meterline usage metering and billing (${stage.name})`,
    env,
    terminationProtection: stage.deletionProtection,
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }), new ServerlessChecks(app, { verbose: true }));
  return { app, stack };
}

// Run as the CDK app (cdk.json); imported by the tests, which build their own.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) createApp().app.synth();
