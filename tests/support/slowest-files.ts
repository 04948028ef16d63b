import { relative } from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';

/** Prints the ten slowest test files after a run (import, hooks and tests), so the next speed-up starts at the top. */
export default class SlowestFiles implements Reporter {
  onTestRunEnd(modules: readonly TestModule[]): void {
    const timed = modules.map((module) => {
      const d = module.diagnostic();
      return { module, ms: d.collectDuration + d.setupDuration + d.duration };
    });
    const slowest = timed.sort((a, b) => b.ms - a.ms).slice(0, 10);
    if (slowest.length === 0) return;
    const lines = slowest.map(
      ({ module, ms }) =>
        `${(ms / 1000).toFixed(1).padStart(7)} s  ${module.project.name.padEnd(8)} ${relative(process.cwd(), module.moduleId)}`,
    );
    console.log(`\nSlowest test files:\n${lines.join('\n')}`);
  }
}
