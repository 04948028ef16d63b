import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type BuildOptions, build, buildSync, type OutputFile } from 'esbuild';

/**
 * The dashboard bundle: one ES module and one stylesheet, minified, plus index.html. `npm start`
 * serves it from memory, `cdk synth` writes it into the upload asset, the browser suite measures it.
 */
const ROOT = import.meta.dirname;

export type DashboardFiles = Map<string, { body: Buffer; contentType: string }>;

const options = {
  entryPoints: { app: resolve(ROOT, 'src/main.tsx'), 'app-style': resolve(ROOT, 'src/app.css') },
  bundle: true,
  write: false,
  minify: true,
  format: 'esm',
  target: ['chrome120', 'firefox120', 'safari17'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  // Never written (write: false); a debug build's source map names the sources relative to it.
  outdir: resolve(ROOT, 'out'),
  legalComments: 'none',
  logLevel: 'silent',
} as const satisfies BuildOptions;

function files(outputs: OutputFile[]): DashboardFiles {
  const result: DashboardFiles = new Map();
  for (const file of outputs) {
    const css = file.path.endsWith('.css');
    result.set(css ? 'app.css' : 'app.js', {
      body: Buffer.from(file.contents),
      contentType: css ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8',
    });
  }
  result.set('index.html', { body: readFileSync(resolve(ROOT, 'index.html')), contentType: 'text/html; charset=utf-8' });
  return result;
}

/** Where the bundle's source map places it: its sources are `../src/...` from here. */
export const DASHBOARD_BUNDLE = resolve(ROOT, 'out', 'app.js');

/**
 * `debug`: not minified, with an inline source map, as the local stack serves it: the browser's developer tools show
 * the TypeScript sources, and the browser tests' coverage maps Chromium's counts back to them.
 */
export async function buildDashboard(o: { debug?: boolean } = {}): Promise<DashboardFiles> {
  return files((await build(o.debug ? { ...options, minify: false, sourcemap: 'inline' } : options)).outputFiles);
}

/** Writes the bundle into `dir` (CDK's asset bundling is synchronous). The stack adds config.json. */
export function writeDashboardSync(dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, file] of files(buildSync(options).outputFiles)) writeFileSync(join(dir, name), file.body);
}
