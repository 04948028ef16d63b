import { pathToFileURL } from 'node:url';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { MeterlineStack } from './stack.js';
import { stageConfig } from './stage.js';

/**
 * Builds the app for a stage (`-c stage=dev|prod`, default from cdk.json) with cdk-nag's AwsSolutions and
 * Serverless checks attached, so every synth (and `cdk deploy`) fails on an unacknowledged finding. The alarm
 * subscriber comes from configuration: `alarmEmail:<stage>` in cdk.json's context, or `-c alarmEmail:<stage>=...`.
 */
export function createApp(app: App = new App()): { app: App; stack: MeterlineStack } {
  const stage = stageConfig(app.node.tryGetContext('stage') ?? 'dev');
  const alarmEmail: string | undefined = app.node.tryGetContext(`alarmEmail:${stage.name}`) || undefined;
  const stack = new MeterlineStack(app, `Meterline-${stage.name}`, {
    stage,
    alarmEmail,
    description: `Meterline usage metering and billing (${stage.name})`,
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
    terminationProtection: stage.deletionProtection,
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }), new ServerlessChecks(app, { verbose: true }));
  return { app, stack };
}

// Run as the CDK app (cdk.json); imported by the tests, which build their own.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) createApp().app.synth();
