import type { Target } from './client.js';

/** One option of a command, as `util.parseArgs` takes it, with what `--help` says about it. */
export interface Option {
  type: 'string' | 'boolean';
  description: string;
  required?: boolean;
  /** The value's shape in `--help` ("<id>", "ISO 8601"). */
  value?: string;
}

export type Values = Record<string, string | boolean | undefined>;

/** Where a command writes: the process's streams from a terminal, strings in a test. */
export interface Output {
  write(text: string): unknown;
  /** A terminal redraws progress in place; anything else gets a line per step. */
  isTTY?: boolean;
}

export interface Io {
  stdout: Output;
  stderr: Output;
}

/** One `npm run admin -- <words...> [--option value]` command. */
export interface Command {
  /** e.g. "tenants create" */
  name: string;
  summary: string;
  options: Record<string, Option>;
  /** The option the words after the command's name fill (`usage sql "SELECT ..."`). */
  positional?: string;
  /** Longer help, printed under the options. */
  notes?: string;
  run(values: Values, target: () => Target, io: Io): Promise<unknown>;
  /** How people read the result; the generic table when absent, JSON with --json. */
  render?(result: unknown): string;
}

/** A string option's value; `need` has made sure required ones are there. */
export const text = (values: Values, name: string): string | undefined => {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
};

export function need(values: Values, name: string): string {
  const value = text(values, name);
  if (value === undefined || value === '') throw new UsageError(`--${name} is required`);
  return value;
}

/** A mistake in the command line: answered with the command's usage and exit code 2. */
export class UsageError extends Error {}

export const tenantOption: Record<string, Option> = { tenant: { type: 'string', description: 'tenant id', required: true, value: '<id>' } };
