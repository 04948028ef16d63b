import v8 from '@vitest/coverage-v8';
import type { CoverageProviderModule } from 'vitest/node';

/**
 * Set in the environment of the tiers whose workers run little of the measured code: the infra tier (aws-cdk-lib
 * synthesizing the app) and the npm-start tier (its product code runs in `npm start`'s own processes). V8's block
 * coverage slows everything a worker runs by a third or more, aws-cdk-lib included, so those workers run without it;
 * the figures come from the other tiers (docs/testing.md).
 */
export const UNMEASURED_WORKERS = 'METERLINE_UNMEASURED_WORKERS';
const unmeasured = () => process.env[UNMEASURED_WORKERS] === 'true';

/**
 * Vitest's V8 coverage, plus the code that runs outside its workers: the dashboard in Chromium and the Lambda
 * extension in a process of its own. @vitest/coverage-v8 measures only the workers' own V8 (it takes the profile
 * through the inspector, so NODE_V8_COVERAGE of child processes goes unread), hence this module: the workers' side is
 * the V8 provider's, but for the tiers that set UNMEASURED_WORKERS; the main process gets the provider of
 * tests/support/external-coverage-provider.ts.
 */
const module: CoverageProviderModule = {
  ...v8,
  startCoverage: (options) => (unmeasured() ? undefined : v8.startCoverage?.(options)),
  takeCoverage: (options) => (unmeasured() ? { result: [] } : v8.takeCoverage?.(options)),
  stopCoverage: (options) => (unmeasured() ? undefined : v8.stopCoverage?.(options)),
  async getProvider() {
    const { ExternalCoverageProvider } = await import('./external-coverage-provider.js');
    return new ExternalCoverageProvider();
  },
};

export default module;
