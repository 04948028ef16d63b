import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Where `npm start` keeps its data between starts: .meterline/ in the checkout, or METERLINE_STATE_DIR. */
export const localStateDir = (): string => resolve(process.env.METERLINE_STATE_DIR ?? join(import.meta.dirname, '..', '.meterline'));

/** The file `npm run admin` and `npm run invoke` read to find the running `npm start`. */
export const localStateFile = (): string => join(localStateDir(), 'local.json');

/**
 * What `npm start` leaves for the tools beside it and for its next start: `local.json` (the demo keys' tokens, whose
 * hashes alone are stored, the API's address and the functions' environment) and `env`, the same as shell exports for a
 * terminal (`source .meterline/env`).
 */
export interface LocalState {
  apiUrl: string;
  adminKey: string;
  tenantId: string;
  tenantKey: string;
  planId: string;
  /** The functions' environment: tables, queues, and the local endpoints of DynamoDB, SQS and Stripe. */
  env: Record<string, string>;
  /** When the demo usage was last posted: the next start posts the hours since. */
  demoUsageAt?: number;
  links?: { dashboard: string; console: string; expiresAt: string };
}

export function readLocalState(): LocalState | undefined {
  const file = localStateFile();
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as LocalState) : undefined;
}

export function writeLocalState(state: LocalState): void {
  const dir = localStateDir();
  mkdirSync(dir, { recursive: true });
  // Through a new file and a rename, so a Ctrl-C mid-write never leaves half a file for the next start.
  writeFileSync(`${localStateFile()}.tmp`, JSON.stringify(state, null, 2));
  renameSync(`${localStateFile()}.tmp`, localStateFile());
  const exports = {
    METERLINE_API_URL: state.apiUrl,
    METERLINE_API_KEY: state.tenantKey,
    METERLINE_ADMIN_KEY: state.adminKey,
    METERLINE_TENANT: state.tenantId,
  };
  writeFileSync(
    join(dir, 'env'),
    `# Written by npm start: the demo tenant's API and keys, for a terminal (source .meterline/env)\n${Object.entries(exports)
      .map(([name, value]) => `export ${name}='${value}'`)
      .join('\n')}\n`,
  );
}
