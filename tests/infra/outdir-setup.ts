import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Where the infra tier's apps synthesize (tests/infra/synth.ts), each in a directory of its own. */
    cdkOutdir: string;
  }
}

/**
 * One directory for the run's in-process syntheses, removed when the run ends. An app given no directory synthesizes
 * into a new one under the system's temporary directory, asset copies included, and aws-cdk-lib never removes it.
 */
export default function setup(project: TestProject) {
  const dir = mkdtempSync(join(tmpdir(), 'meterline-synth-'));
  project.provide('cdkOutdir', dir);
  return () => rmSync(dir, { recursive: true, force: true });
}
