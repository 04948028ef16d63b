import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bundleFunction } from '../../infra/bundling.js';
import { functionSpecs } from '../../infra/catalog.js';
import { tables } from '../../shared/platform/dynamo/tables.js';

describe('function bundles', () => {
  it('bundles every catalog function with the deployment settings and reports its size', async () => {
    for (const spec of Object.values(functionSpecs)) {
      const size = await bundleFunction(spec.entry);
      expect(size.bytes, spec.entry).toBeGreaterThan(1000);
      expect(size.sourceMapBytes, spec.entry).toBeGreaterThan(0);
    }
  });

  it('keeps the request path small: the ingest and authorizer functions load at most 250 KiB, without the AWS SDK, classic zod or node:http', async () => {
    for (const name of ['ingest', 'authorizer'] as const) {
      const size = await bundleFunction(functionSpecs[name].entry);
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

  it('produces an ESM module that loads on Node 22 and exports handler', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'meterline-bundle-'));
    try {
      await bundleFunction(functionSpecs.authorizer.entry, dir);
      for (const definition of Object.values(tables)) process.env[definition.env] ??= 'unused';
      const module = (await import(pathToFileURL(join(dir, 'index.mjs')).href)) as { handler?: unknown };
      expect(typeof module.handler).toBe('function');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
