/** Settings every function reads from its environment, with the defaults docs/ documents. */
export interface Settings {
  /** Hours after a period ends during which late events for it are still accepted. */
  graceHours: number;
  /** Days the ledger keeps an event (and so recognises its id again); at least 35. */
  ledgerRetentionDays: number;
}

export function settings(env: NodeJS.ProcessEnv = process.env): Settings {
  return {
    graceHours: positive(env.GRACE_PERIOD_HOURS, 72),
    ledgerRetentionDays: Math.max(35, positive(env.LEDGER_RETENTION_DAYS, 40)),
  };
}

export function required(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

function positive(text: string | undefined, fallback: number): number {
  const n = Number(text);
  return text !== undefined && Number.isFinite(n) && n > 0 ? n : fallback;
}
