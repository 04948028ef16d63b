import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';
import { UNMEASURED_WORKERS } from './tests/support/coverage-provider.js';
import TiersInOrder from './tests/support/sequencer.js';
import { testTiers } from './tests/support/tiers.js';

const tiers = testTiers(import.meta.dirname);
const emulators = { globalSetup: ['tests/support/global-setup.ts'], setupFiles: ['tests/support/emulators-ready.ts'] };
// Tiers whose workers run little of the measured code: coverage leaves them alone (tests/support/coverage-provider.ts).
const unmeasured = { [UNMEASURED_WORKERS]: 'true' };

export default defineConfig({
  // The client package's examples import it by name, as a product would; here the name means its source.
  resolve: {
    alias: [
      { find: /^@meterline\/client$/, replacement: resolve(import.meta.dirname, 'clients/node/src/index.ts') },
      { find: /^@meterline\/client\/(.*)$/, replacement: resolve(import.meta.dirname, 'clients/node/src/$1.ts') },
    ],
  },
  test: {
    pool: 'forks',
    // Stack and browser files mostly wait on DynamoDB Local, queues and Chromium: more files than cores keep them busy.
    maxWorkers: 4,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    env: { POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true', TZ: 'UTC' },
    reporters: ['default', './tests/support/slowest-files.ts'],
    // vitest keeps a configured sequencer even when asked to shuffle: a shuffled run (--sequence.shuffle.files) gets its own.
    sequence: process.argv.some((arg) => arg.startsWith('--sequence.shuffle')) ? {} : { sequencer: TiersInOrder },
    // On in `npm test` (--coverage): what the tests run of the product's code, generated code aside. The thresholds
    // sit a point under the figures reached (docs/testing.md), above the 90% of lines and 85% of branches aimed at.
    coverage: {
      // V8's, plus the dashboard's pages in Chromium and the Lambda extension's process (docs/testing.md).
      provider: 'custom',
      customProviderModule: 'tests/support/coverage-provider.ts',
      include: ['shared/**/*.ts', 'functions/**/*.ts', 'clients/**/*.ts', 'dashboard/**/*.{ts,tsx}'],
      exclude: ['clients/node/src/api.ts', 'tests/**'],
      reporter: ['text-summary', 'json-summary'],
      reportOnFailure: true,
      thresholds: { lines: 97, branches: 89 },
    },
    // Tiers by what a file imports (tests/support/tiers.ts); only the stack and browser tiers start the emulators.
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          // Pure tests share their workers' module caches: each worker loads zod, decimal.js and the domain once rather
          // than once per file, most of a unit file's time. They pass in any order (--sequence.shuffle.files).
          isolate: false,
          include: ['tests/**/*.test.ts'],
          exclude: [...tiers.infra, ...tiers['npm-start'], ...tiers.stack, ...tiers.browser],
          setupFiles: ['tests/support/unit-tier.ts'],
        },
      },
      // The infra files share their worker processes: aws-cdk-lib loads once in each, and each stage is synthesized
      // once for the files a process runs (tests/infra/synth.ts).
      {
        extends: true,
        test: { name: 'infra', include: tiers.infra, isolate: false, env: unmeasured, globalSetup: ['tests/infra/outdir-setup.ts'] },
      },
      { extends: true, test: { name: 'npm-start', include: tiers['npm-start'], env: unmeasured } },
      // Stack files share their worker processes too: each starts its own stack, whose functions load afresh
      // (tests/support/stack.ts) while the npm packages under them load once per worker.
      { extends: true, test: { name: 'stack', include: tiers.stack, ...emulators, isolate: false } },
      // A page may take seconds to show an answer on a loaded machine: expect.poll waits up to ten, not vitest's default
      // one.
      {
        extends: true,
        test: { name: 'browser', include: tiers.browser, ...emulators, expect: { poll: { timeout: 10_000 } } },
      },
    ],
  },
});
