import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BundleSize, bundleFunction } from '../../infra/bundling.js';
import { functionSpecs } from '../../infra/catalog.js';
import { tables } from '../../shared/platform/dynamo/tables.js';

/**
 * What the deployment settings make of the functions on the request path. That every catalog function bundles, with
 * its source map, is shown by `cdk synth` itself (tests/infra/cli.test.ts), which bundles them all as a deploy does.
 */
describe('function bundles', () => {
  // The authorizer as deployed, on disk: index.mjs, its chunks and their maps.
  let dir: string;
  let authorizer: BundleSize;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'meterline-bundle-'));
    authorizer = await bundleFunction(functionSpecs.authorizer.entry, dir);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('keeps the request path small: the ingest and authorizer functions load at most 250 KiB, without the AWS SDK, classic zod or node:http', async () => {
    for (const name of ['ingest', 'authorizer'] as const) {
      const size = name === 'authorizer' ? authorizer : await bundleFunction(functionSpecs[name].entry);
      expect(size.bytes, name).toBeLessThanOrEqual(250 * 1024);
      // zod's JSON Schema code arrives when any chunk of the function, even a lazy one, uses classic zod:
      // esbuild puts what both reach in a chunk the entry loads.
      const heavy = size.modules.filter((m) =>
        /node_modules\/(@aws-sdk\/client-|@aws-sdk\/lib-dynamodb|@smithy\/|zod\/v4\/classic\/|zod\/v4\/core\/to-json-schema)/.test(m),
      );
      expect(heavy, name).toEqual([]);
      // Node 22's node:http loads undici and http2 (~30 ms); AWS endpoints are HTTPS.
      expect(size.builtins, name).not.toContain('node:http');
    }
  });

  it("maps a deployed bundle's stack traces to the TypeScript source without --enable-source-maps", async () => {
    // As Lambda runs it: a fresh process, its environment, no --enable-source-maps. An event without headers
    // makes the authorizer throw from inside the bundle.
    const script = `
        const { handler } = await import(${JSON.stringify(pathToFileURL(join(dir, 'index.mjs')).href)});
        const error = await handler(undefined).catch((e) => e);
        console.log(JSON.stringify({ stack: error.stack }));`;
    const env: NodeJS.ProcessEnv = { ...process.env, AWS_LAMBDA_FUNCTION_NAME: 'authorizer', AWS_REGION: 'us-east-1', NODE_OPTIONS: '' };
    for (const definition of Object.values(tables)) env[definition.env] = 'unused';
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { env, encoding: 'utf8' });
    const { stack } = JSON.parse(out) as { stack: string };
    expect(stack).toMatch(/^TypeError: /);
    expect(stack).toMatch(/at .*functions\/authorizer\/authorizer\.ts:\d+:\d+/);
    expect(stack).not.toContain('index.mjs');
  });

  it('produces an ESM module that loads on Node 22 and exports handler', async () => {
    for (const definition of Object.values(tables)) process.env[definition.env] ??= 'unused';
    const module = (await import(pathToFileURL(join(dir, 'index.mjs')).href)) as { handler?: unknown };
    expect(typeof module.handler).toBe('function');
  });
});
