import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { createApp } from '../../infra/app.js';
import type { MeterlineStack } from '../../infra/stack.js';

export interface Synthesized {
  app: App;
  stack: MeterlineStack;
  template: Template;
}

/** What cdk.json's context holds for prod: the alarm subscriber. */
export const alarmEmail = 'oncall@example.com';

/**
 * The real app for a stage, minus esbuild: an empty bundling-stacks list skips asset bundling, which `cdk synth` does
 * for real. The App is built here, so cdk.json's context is passed by hand (`context` replaces it).
 */
export function buildApp(
  stage: 'dev' | 'prod',
  context: Record<string, unknown> = { 'alarmEmail:prod': alarmEmail },
): { app: App; stack: MeterlineStack } {
  return createApp(new App({ context: { stage, 'aws:cdk:bundling-stacks': [], ...context } }));
}

/** Synthesizes (running the cdk-nag AwsSolutions and Serverless checks, which throw on any unacknowledged finding) and returns the template. */
export function synth(stage: 'dev' | 'prod'): Synthesized {
  const { app, stack } = buildApp(stage);
  return { app, stack, template: Template.fromStack(stack) };
}

type Resources = Record<string, { Type: string; Properties?: Record<string, any>; DeletionPolicy?: string; UpdateReplacePolicy?: string }>;

export function resources(template: Template, type: string): Resources {
  return template.findResources(type) as Resources;
}
