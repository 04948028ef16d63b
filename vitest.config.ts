import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The client package's examples import it by name, as a product would; here the name means its source.
  resolve: {
    alias: [
      { find: /^@meterline\/client$/, replacement: resolve(import.meta.dirname, 'clients/node/src/index.ts') },
      { find: /^@meterline\/client\/(.*)$/, replacement: resolve(import.meta.dirname, 'clients/node/src/$1.ts') },
    ],
  },
  test: {
    include: ['tests/**/*.test.ts'],
    // DynamoDB Local and the SQS emulator start once for the whole run; each test file makes its own tables and queues.
    globalSetup: ['tests/support/global-setup.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    env: { POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true', TZ: 'UTC' },
  },
});
