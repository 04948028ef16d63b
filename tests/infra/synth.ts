import { mkdtempSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { App, type Environment } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { inject } from 'vitest';
import { createApp } from '../../infra/app.js';
import type { MeterlineStack } from '../../infra/stack.js';

export interface Synthesized {
  app: App;
  stack: MeterlineStack;
  template: Template;
  /** The nested stack of alarms and the dashboard. */
  monitoring: Template;
  /** The nested stack of API routes, their integrations and invoke permissions, and the authorizer. */
  routes: Template;
}

/** cdk.json's own context, as `cdk synth` passes it to the app. */
export const cdkJsonContext: Record<string, unknown> = JSON.parse(
  readFileSync(resolve(import.meta.dirname, '../../cdk.json'), 'utf8'),
).context;

/** An alarm subscriber for the tests that configure one. */
export const alarmEmail = 'oncall@meterline.dev';

/**
 * The real app for a stage with cdk.json's context plus `context`, minus esbuild and CloudFormation's template checks:
 * an empty bundling-stacks list skips asset bundling, and the built-in validation (about 5 s of CPU a synthesis) is
 * off. `cdk synth` does both for real, and tests/infra/cli.test.ts runs it on both stages and fails on any finding.
 * cdk-nag still runs here. No region unless `env` names one.
 */
export function buildApp(
  stage: 'dev' | 'prod',
  context: Record<string, unknown> = {},
  env: Environment = {},
): { app: App; stack: MeterlineStack } {
  return createApp(
    new App({
      outdir: appOutdir(),
      builtinCloudFormationValidation: false,
      context: { ...cdkJsonContext, stage, 'aws:cdk:bundling-stacks': [], ...context },
    }),
    env,
  );
}

/** A directory of its own for an app to synthesize into, under the run's (tests/infra/outdir-setup.ts), gone when the run ends. */
export function appOutdir(): string {
  return mkdtempSync(join(inject('cdkOutdir'), 'app-'));
}

const synthesized = new Map<string, Synthesized>();

/**
 * Synthesizes (running the cdk-nag AwsSolutions and Serverless checks, which throw on any unacknowledged finding) and
 * returns the templates. A stage with cdk.json's context alone is synthesized once per process and shared: the infra
 * files share their processes (vitest.config.ts), and none of them changes what it reads.
 */
export function synth(stage: 'dev' | 'prod', context: Record<string, unknown> = {}): Synthesized {
  const shared = Object.keys(context).length === 0;
  const kept = shared ? synthesized.get(stage) : undefined;
  if (kept) return kept;
  const { app, stack } = buildApp(stage, context);
  const result = {
    app,
    stack,
    template: Template.fromStack(stack),
    monitoring: Template.fromStack(stack.monitoring),
    routes: Template.fromStack(stack.api.routes),
  };
  if (shared) synthesized.set(stage, result);
  return result;
}

type Resources = Record<string, { Type: string; Properties?: Record<string, any>; DeletionPolicy?: string; UpdateReplacePolicy?: string }>;

export function resources(template: Template, type: string): Resources {
  return template.findResources(type) as Resources;
}
