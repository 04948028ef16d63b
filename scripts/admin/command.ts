import type { Target } from './client.js';

/** One `npm run admin -- <words...> [--flag value]` command. */
export interface Command {
  /** e.g. "tenants create" */
  name: string;
  usage: string;
  run(flags: Record<string, string>, target: () => Target): Promise<unknown>;
}

export function need(flags: Record<string, string>, name: string): string {
  const value = flags[name];
  if (value === undefined || value === '') throw new Error(`--${name} is required`);
  return value;
}
