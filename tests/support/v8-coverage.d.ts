// The part of @bcoe/v8-coverage (vitest's own V8 coverage merger, which ships no types) the coverage provider uses.
declare module '@bcoe/v8-coverage' {
  import type { Profiler } from 'node:inspector';

  export interface ScriptCov {
    scriptId: string;
    url: string;
    functions: Profiler.FunctionCoverage[];
  }

  /** One script's runs added up; undefined for none. */
  export function mergeScriptCovs(scriptCovs: readonly ScriptCov[]): ScriptCov | undefined;
}
