import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AssetHashType, DockerImage } from 'aws-cdk-lib';
import { Architecture, Code, Runtime } from 'aws-cdk-lib/aws-lambda';
import { type BuildOptions, type BuildResult, build, buildSync, type Metafile } from 'esbuild';

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
  // Maps without the sources' text: stack traces need only the mappings (shared/platform/stack-traces.ts).
  sourcemap: true,
  sourcesContent: false,
  // Code reached only through import() (the AWS SDK's SSO, INI-file, process and container credential
  // providers with their STS/SSO clients, event streams) goes to chunks that load when first called,
  // so a cold start parses only what its module graph imports statically.
  splitting: true,
  entryNames: 'index',
  chunkNames: 'chunks/[name]-[hash]',
  outExtension: { '.js': '.mjs' },
  // Prefer the ESM builds of dependencies, which tree-shake.
  mainFields: ['module', 'main'],
  banner: { js: requireBanner },
  // The AWS SDK is bundled rather than taken from the runtime: the pinned versions are the ones tested,
  // and a tree-shaken client is no bigger than what the runtime would load anyway.
  external: [],
} as const satisfies BuildOptions;

const ROOT = resolve(import.meta.dirname, '..');

function buildOptions(entry: string, outdir: string): BuildOptions {
  return {
    ...esbuildSettings,
    mainFields: [...esbuildSettings.mainFields],
    external: [...esbuildSettings.external],
    entryPoints: [resolve(ROOT, entry)],
    outdir,
    metafile: true,
    logLevel: 'silent',
  };
}

/**
 * The deployment package of one handler: index.mjs and its chunks, built by esbuild on this machine
 * (never in Docker) when the stack synthesises. The hash is of the output, as NodejsFunction does.
 */
export function functionCode(entry: string): Code {
  return Code.fromAsset(ROOT, {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Required by the type; never pulled, because local bundling always succeeds or throws.
      image: DockerImage.fromRegistry('public.ecr.aws/lambda/nodejs:22'),
      local: {
        tryBundle(outputDir) {
          buildSync({ ...buildOptions(entry, outputDir), logLevel: 'error' });
          return true;
        },
      },
    },
  });
}

export interface BundleSize {
  entry: string;
  /** What a cold start loads: index.mjs and the chunks it imports statically, transitively. */
  bytes: number;
  /** The source files (and node_modules files) those chunks hold. */
  modules: string[];
  /** The Node built-ins those chunks import: each costs its own load time at init. */
  builtins: string[];
  /** Chunks reached only through import(), loaded if and when that code first runs. */
  lazyBytes: number;
  /** Source maps, shipped alongside but read only when an error's stack is printed. */
  sourceMapBytes: number;
}

/** Splits a build's outputs into what module init loads and what stays lazy. */
export function bundleSize(entry: string, metafile: Metafile): BundleSize {
  const outputs = metafile.outputs;
  const code = Object.keys(outputs).filter((f) => f.endsWith('.mjs'));
  const index = code.find((f) => f.endsWith('/index.mjs') || f === 'index.mjs');
  if (!index) throw new Error(`no index.mjs built for ${entry}`);
  const loaded = new Set<string>();
  const pending = [index];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (loaded.has(file)) continue;
    loaded.add(file);
    for (const i of outputs[file]?.imports ?? []) if (i.kind === 'import-statement' && !i.external) pending.push(i.path);
  }
  const sum = (files: string[]) => files.reduce((n, f) => n + (outputs[f]?.bytes ?? 0), 0);
  return {
    entry,
    bytes: sum([...loaded]),
    modules: [...new Set([...loaded].flatMap((f) => Object.keys(outputs[f]?.inputs ?? {})))],
    builtins: [
      ...new Set(
        [...loaded].flatMap((f) =>
          (outputs[f]?.imports ?? []).filter((i) => i.external && i.kind === 'import-statement').map((i) => i.path),
        ),
      ),
    ].sort(),
    lazyBytes: sum(code.filter((f) => !loaded.has(f))),
    sourceMapBytes: sum(Object.keys(outputs).filter((f) => f.endsWith('.map'))),
  };
}

/** Bundles one handler with the deployment settings and reports its size; writes the package to `outdir` when given. */
export async function bundleFunction(entry: string, outdir?: string): Promise<BundleSize> {
  const dir = outdir ?? join(ROOT, '.bundle');
  const result: BuildResult<{ metafile: true; write: false }> = await build({
    ...buildOptions(entry, dir),
    metafile: true,
    write: false,
  });
  if (outdir) {
    for (const f of result.outputFiles) {
      mkdirSync(resolve(f.path, '..'), { recursive: true });
      writeFileSync(f.path, f.contents);
    }
  }
  return bundleSize(entry, result.metafile);
}
