import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { bundleFunction, esbuildSettings } from '../../infra/bundling.js';
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

  it('produces an ESM module that loads on Node 22 and exports handler', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'meterline-bundle-'));
    try {
      const outfile = join(dir, 'index.mjs');
      await build({
        ...esbuildSettings,
        mainFields: [...esbuildSettings.mainFields],
        external: [],
        entryPoints: [resolve(functionSpecs.authorizer.entry)],
        outfile,
        logLevel: 'silent',
      });
      for (const definition of Object.values(tables)) process.env[definition.env] ??= 'unused';
      const module = (await import(pathToFileURL(outfile).href)) as { handler?: unknown };
      expect(typeof module.handler).toBe('function');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
