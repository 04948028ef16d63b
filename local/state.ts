import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * What `npm start` leaves for the tools beside it: `.meterline/local.json` (read by `npm run admin` and
 * `npm run invoke`) and `.meterline/env`, the same as shell exports for a terminal (`source .meterline/env`).
 */
export interface LocalState {
  apiUrl: string;
  adminKey: string;
  tenantId: string;
  tenantKey: string;
  planId: string;
  /** The functions' environment: tables, queues, and the local endpoints of DynamoDB, SQS and Stripe. */
  env: Record<string, string>;
}

const dir = resolve(import.meta.dirname, '..', '.meterline');
export const localStateFile = resolve(dir, 'local.json');

export function readLocalState(): LocalState | undefined {
  return existsSync(localStateFile) ? (JSON.parse(readFileSync(localStateFile, 'utf8')) as LocalState) : undefined;
}

export function writeLocalState(state: LocalState): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(localStateFile, JSON.stringify(state, null, 2));
  const exports = {
    METERLINE_API_URL: state.apiUrl,
    METERLINE_API_KEY: state.tenantKey,
    METERLINE_ADMIN_KEY: state.adminKey,
    METERLINE_TENANT: state.tenantId,
  };
  writeFileSync(
    resolve(dir, 'env'),
    `# Written by npm start: the demo tenant's API and keys, for a terminal (source .meterline/env)\n${Object.entries(exports)
      .map(([name, value]) => `export ${name}='${value}'`)
      .join('\n')}\n`,
  );
}
