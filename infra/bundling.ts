import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { type BundlingOptions, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { type BuildOptions, build } from 'esbuild';

/**
 * One esbuild configuration for every function: the CDK stack bundles with it and `npm run bench`
 * measures it, so the sizes reported are the sizes deployed.
 */

/** The runtime the code is developed and tested on (engines, the node@22 devDependency); they move together. */
export const runtime = Runtime.NODEJS_22_X;
export const architecture = Architecture.ARM_64;

// Handlers are ESM with top-level imports; a few CommonJS dependencies still call require() on built-ins,
// which an ESM bundle only has through createRequire.
const requireBanner = "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

export const esbuildSettings = {
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  minify: true,
  sourcemap: true,
  // Prefer the ESM builds of dependencies, which tree-shake.
  mainFields: ['module', 'main'],
  banner: { js: requireBanner },
  // The AWS SDK is bundled rather than taken from the runtime: the pinned versions are the ones tested,
  // and a tree-shaken client is no bigger than what the runtime would load anyway.
  external: [],
} as const satisfies BuildOptions;

/** The same settings in the shape NodejsFunction takes; local esbuild only, never Docker. */
export const nodejsBundling: BundlingOptions = {
  target: esbuildSettings.target,
  format: OutputFormat.ESM,
  minify: esbuildSettings.minify,
  sourceMap: esbuildSettings.sourcemap,
  mainFields: [...esbuildSettings.mainFields],
  banner: esbuildSettings.banner.js,
  externalModules: [...esbuildSettings.external],
  forceDockerBundling: false,
};

export interface BundleSize {
  entry: string;
  /** The minified handler module Lambda loads. */
  bytes: number;
  /** Its source map, shipped alongside but read only when an error's stack is printed. */
  sourceMapBytes: number;
}

const ROOT = resolve(import.meta.dirname, '..');

/** Bundles one handler with the deployment settings and reports its size; writes `outfile` when given. */
export async function bundleFunction(entry: string, outfile?: string): Promise<BundleSize> {
  const result = await build({
    ...esbuildSettings,
    mainFields: [...esbuildSettings.mainFields],
    external: [...esbuildSettings.external],
    entryPoints: [resolve(ROOT, entry)],
    outfile: outfile ?? 'index.mjs',
    write: false,
    logLevel: 'silent',
  });
  if (outfile) for (const f of result.outputFiles) await writeFile(f.path, f.contents);
  const size = (suffix: string) => result.outputFiles.filter((f) => f.path.endsWith(suffix)).reduce((n, f) => n + f.contents.byteLength, 0);
  return { entry, bytes: size('.mjs'), sourceMapBytes: size('.map') };
}
