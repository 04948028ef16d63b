import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Architecture, Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { addMeterlineExtension } from '../../clients/lambda-extension/src/cdk.js';
import { DEFAULT_EXTENSION_ADDRESS } from '../../clients/lambda-extension/src/extension.js';
import { appOutdir } from './synth.js';

describe('addMeterlineExtension', () => {
  it('adds one layer per stack, for arm64 and x86_64, and tells the client where the extension listens', () => {
    const stack = new Stack(new App({ outdir: appOutdir() }), 'Product');
    for (const [id, architecture] of [
      ['Orders', Architecture.ARM_64],
      ['Search', Architecture.X86_64],
    ] as const) {
      const fn = new LambdaFunction(stack, id, {
        runtime: Runtime.NODEJS_22_X,
        architecture,
        handler: 'index.handler',
        code: Code.fromInline('exports.handler = async () => ({})'),
        environment: { METERLINE_API_URL: 'https://meterline.example', METERLINE_API_KEY: 'from-a-secret' },
      });
      addMeterlineExtension(fn);
    }
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Lambda::LayerVersion', 1);
    template.hasResourceProperties('AWS::Lambda::LayerVersion', {
      CompatibleArchitectures: ['arm64', 'x86_64'],
      CompatibleRuntimes: Match.arrayWith(['nodejs22.x']),
    });
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    expect(functions).toHaveLength(2);
    for (const fn of functions) {
      expect(fn.Properties.Layers).toHaveLength(1);
      expect(fn.Properties.Environment.Variables).toMatchObject({ METERLINE_EXTENSION_ADDRESS: DEFAULT_EXTENSION_ADDRESS });
    }
  });
});
