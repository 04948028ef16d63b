import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildSync } from 'esbuild';

/**
 * Builds the layer's content into `outDir`: `extensions/meterline`, one esbuild bundle of the extension with a node
 * shebang, which is where Lambda looks for external extensions (/opt/extensions/ once the layer is unpacked). It is
 * JavaScript run by the function's own Node.js runtime, so the one bundle serves arm64 and x86_64 alike; a function on
 * another runtime has no `node` to run it. `debug`: not minified, with an inline source map, so a stack trace or a
 * coverage count leads back to the TypeScript sources.
 */
export function buildLayer(outDir: string, o: { debug?: boolean } = {}): string {
  rmSync(outDir, { recursive: true, force: true });
  const executable = join(outDir, 'extensions', 'meterline');
  mkdirSync(join(outDir, 'extensions'), { recursive: true });
  buildSync({
    entryPoints: [resolve(import.meta.dirname, 'main.ts')],
    outfile: executable,
    bundle: true,
    platform: 'node',
    target: 'node20',
    // CommonJS: Node reads a file without an extension, outside any package.json, as CommonJS.
    format: 'cjs',
    minify: !o.debug,
    ...(o.debug ? { sourcemap: 'inline' as const } : {}),
    // The Node runtimes put node on the PATH of the extensions they start.
    banner: { js: '#!/usr/bin/env node' },
    logLevel: 'silent',
  });
  chmodSync(executable, 0o755);
  return outDir;
}
