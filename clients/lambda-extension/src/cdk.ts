import { AssetHashType, DockerImage, Stack } from 'aws-cdk-lib';
import { Architecture, Code, type Function as LambdaFunction, LayerVersion, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { DEFAULT_EXTENSION_ADDRESS } from './extension.js';
import { buildLayer } from './layer.js';

/**
 * The Meterline extension's layer, built from this repository when the stack synthesises (esbuild, no Docker), once
 * per stack. One bundle serves arm64 and x86_64: it is JavaScript run by the function's Node.js runtime.
 */
export class MeterlineExtensionLayer extends Construct {
  readonly layer: LayerVersion;

  /** The stack's one layer, made on first use. */
  static of(scope: Construct): MeterlineExtensionLayer {
    const stack = Stack.of(scope);
    return (
      (stack.node.tryFindChild('MeterlineExtensionLayer') as MeterlineExtensionLayer) ??
      new MeterlineExtensionLayer(stack, 'MeterlineExtensionLayer')
    );
  }

  private constructor(scope: Construct, id: string) {
    super(scope, id);
    this.layer = new LayerVersion(this, 'Layer', {
      description: 'Meterline extension: takes usage events over localhost and sends them to Meterline in the background',
      compatibleArchitectures: [Architecture.ARM_64, Architecture.X86_64],
      compatibleRuntimes: [Runtime.NODEJS_20_X, Runtime.NODEJS_22_X],
      code: Code.fromAsset(import.meta.dirname, {
        assetHashType: AssetHashType.OUTPUT,
        bundling: {
          // Required by the type; never pulled, because local bundling always succeeds or throws.
          image: DockerImage.fromRegistry('public.ecr.aws/lambda/nodejs:22'),
          local: {
            tryBundle(outputDir) {
              buildLayer(outputDir);
              return true;
            },
          },
        },
      }),
    });
  }
}

/**
 * Adds the Meterline extension to a Node.js function that meters with @meterline/client: the layer, and the address
 * the client hands its events to. The function's METERLINE_API_URL and METERLINE_API_KEY are the extension's too.
 */
export function addMeterlineExtension(fn: LambdaFunction): void {
  fn.addLayers(MeterlineExtensionLayer.of(fn).layer);
  fn.addEnvironment('METERLINE_EXTENSION_ADDRESS', DEFAULT_EXTENSION_ADDRESS);
}
