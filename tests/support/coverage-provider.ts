import v8 from '@vitest/coverage-v8';
import type { CoverageProviderModule } from 'vitest/node';

/**
 * Vitest's V8 coverage, plus the code that runs outside its workers: the dashboard in Chromium and the Lambda
 * extension in a process of its own. @vitest/coverage-v8 measures only the workers' own V8 (it takes the profile
 * through the inspector, so NODE_V8_COVERAGE of child processes goes unread), hence this module: the workers' side is
 * the V8 provider's, unchanged; the main process gets the provider of tests/support/external-coverage-provider.ts.
 */
const module: CoverageProviderModule = {
  ...v8,
  async getProvider() {
    const { ExternalCoverageProvider } = await import('./external-coverage-provider.js');
    return new ExternalCoverageProvider();
  },
};

export default module;
