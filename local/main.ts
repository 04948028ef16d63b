import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { DynamoAlertStore } from '../shared/alerts/adapters/alert-store.js';
import { DynamoEmailStore } from '../shared/alerts/adapters/email-store.js';
import { DynamoBillingStore } from '../shared/billing/adapters/billing-store.js';
import { documentClient } from '../shared/platform/dynamo/client.js';
import { DynamoTenantDirectory } from '../shared/tenancy/adapters/tenant-directory.js';
import { demoEvents, demoStart, postEvents } from './demo-usage.js';
import { DEMO_TENANT, type DemoSeed, reissueDemoKeys, seedDemo, seedDemoMail } from './seed.js';
import { type LocalStack, startLocalStack, type Unfinished } from './stack.js';
import { localStateDir, localStateFile, readLocalState, writeLocalState } from './state.js';

/**
 * `npm start`: the whole system on localhost with a demo tenant. Its data stays in the state directory (.meterline/,
 * or METERLINE_STATE_DIR) from one start to the next; `npm start -- --reset` starts from nothing. Ctrl-C stops it
 * without losing an accepted event; a second Ctrl-C stops at once and says what was left.
 */
const args = process.argv.slice(2);
const unknownArg = args.find((a) => a !== '--reset');
if (unknownArg) {
  console.error(`unknown option ${unknownArg}: npm start [-- --reset]`);
  process.exit(2);
}
const port = Number(process.env.PORT ?? 3000);
const stateDir = localStateDir();
const stateFile = localStateFile();

let stack: LocalStack | undefined;
/** When the first stop signal came. A Ctrl-C reaches this process twice (from the terminal, and forwarded by npm). */
let stopping: number | undefined;
const SAME_PRESS_MS = 1_500;
let report: NodeJS.Timeout | undefined;
process.on('SIGINT', () => void shutdown('Ctrl-C'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));

if (args.includes('--reset')) {
  for (const name of ['dynamodb', 'stripe.json', 'local.json']) rmSync(join(stateDir, name), { recursive: true, force: true });
  console.log(`--reset: the stored data in ${stateDir} is gone; starting from nothing.`);
}
mkdirSync(stateDir, { recursive: true });

/** What one start leaves for the next beside the stores; a file that is not what npm start writes means new demo keys. */
const savedState = z.object({
  adminKey: z.string(),
  tenantKey: z.string(),
  tenantId: z.string(),
  planId: z.string(),
  demoUsageAt: z.number().optional(),
  links: z.object({ dashboard: z.string(), console: z.string(), expiresAt: z.string() }).optional(),
});
type SavedState = z.infer<typeof savedState>;

function readSaved(): SavedState | undefined {
  const stored = readLocalState();
  if (stored === undefined) return undefined;
  const parsed = savedState.safeParse(stored);
  if (!parsed.success) console.warn(`${stateFile} is not what npm start writes; new demo keys will be issued.`);
  return parsed.success ? parsed.data : undefined;
}

const saved = readSaved();
console.log(`Starting Meterline locally (DynamoDB Local, SQS emulator, API, consumer), data in ${stateDir}...`);
stack = await startLocalStack({ port, prefix: 'meterline', authorizerCacheTtlMs: 0, stateDir }).catch((error: NodeJS.ErrnoException) => {
  console.error(error.code === 'EADDRINUSE' ? `Port ${port} is taken: stop what uses it, or run PORT=3001 npm start.` : error);
  process.exit(1);
});
const { apiUrl } = stack;
const db = documentClient(stack.dynamo);
const directory = new DynamoTenantDirectory(db, stack.env.TENANTS_TABLE!);

const call = (key: string, method: string, path: string, body?: object) =>
  fetch(`${apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
const keysWork = async (s: SavedState) =>
  (await call(s.tenantKey, 'GET', '/v1/meters')).status === 200 && (await call(s.adminKey, 'GET', '/v1/admin/tenants')).status === 200;

// The demo tenant is seeded once; later starts find it in the stores and keep its keys.
const stored = await directory.getTenant(DEMO_TENANT);
let seed: DemoSeed;
let keysNote = '';
if (!stored) {
  seed = await seedDemo(directory, new DynamoBillingStore(db, stack.env.BILLING_TABLE!));
  await seedDemoMail(new DynamoAlertStore(db, stack.env.TENANTS_TABLE!), new DynamoEmailStore(db, stack.env.WEBHOOKS_TABLE!));
} else if (saved && (await keysWork(saved))) {
  seed = { adminKey: saved.adminKey, tenantKey: saved.tenantKey, tenantId: saved.tenantId, planId: saved.planId };
} else {
  seed = await reissueDemoKeys(directory);
  keysNote = `\n  The demo keys of the last start were not in ${stateFile} or no longer work: these are NEW keys,\n  and every earlier demo and local admin key is revoked.\n`;
}

// The month so far of the demo tenant's usage, through the ingest API like any product's (a later start posts only
// the hours since the last), then the daily report links it to a Stripe customer (the plan page's portal needs one).
const now = Date.now();
const postedAt = stored ? saved?.demoUsageAt : undefined;
const events = demoEvents(now, 7, postedAt);
if (postedAt === undefined) {
  const since = new Date(demoStart(now)).toISOString().slice(0, 10);
  console.log(`Posting ${events.length.toLocaleString('en-US')} demo events (since ${since}) through the ingest API...`);
} else {
  console.log(`Found the demo tenant; posting its usage since the last start (${events.length.toLocaleString('en-US')} events)...`);
}
await postEvents(apiUrl, seed.tenantKey, events);
writeLocalState({ ...seed, demoUsageAt: now, links: saved?.links, apiUrl, env: stack.env });
await stack.drained(300_000);
await stack.runReport();

// Sign-in links last 12 hours: the last start's are printed again while they have an hour left.
const HOUR = 3_600_000;
const mint = async (key: string) => {
  const res = await call(key, 'POST', '/v1/dashboard/sessions', { ttlMinutes: 720 });
  return (await res.json()) as { url: string; expiresAt: string };
};
let links = stored && !keysNote ? saved?.links : undefined;
if (!links || Date.parse(links.expiresAt) < Date.now() + HOUR) {
  const [dashboard, operator] = [await mint(seed.tenantKey), await mint(seed.adminKey)];
  links = { dashboard: dashboard.url, console: operator.url, expiresAt: dashboard.expiresAt };
}
writeLocalState({ ...seed, demoUsageAt: now, links, apiUrl, env: stack.env });

const example = new Date().toISOString();
console.log(`
Meterline is up at ${apiUrl}${stored ? ` (the data of earlier starts is back; npm start -- --reset starts from nothing)` : ''}

  dashboard (demo tenant):  ${links.dashboard}
  operator console:         ${links.console}
  (both until ${links.expiresAt})

  demo tenant:  ${seed.tenantId} (plan ${seed.planId})
  tenant key:   ${seed.tenantKey}
  admin key:    ${seed.adminKey}
  (also in ${stateFile}, which \`npm run admin\` reads, and for a terminal in ${stateDir}/env)
${keysNote}
In another terminal, post an event, then read it back:

  source ${stateDir}/env
  curl -s -X POST "$METERLINE_API_URL/v1/events" -H "Authorization: Bearer $METERLINE_API_KEY" -H "Content-Type: application/json" \\
    -d '{"id":"order-1","meter":"orders","timestamp":"${example}"}'
  curl -s "$METERLINE_API_URL/v1/events/order-1" -H "Authorization: Bearer $METERLINE_API_KEY"

Ctrl-C stops everything and keeps the data in ${stateDir}.`);

let last = 0;
report = setInterval(() => {
  const { records, failedRecords, invocations } = stack!.consumer.stats;
  if (invocations !== last) console.log(`consumer: ${invocations} batches, ${records} messages, ${failedRecords} left for redelivery`);
  last = invocations;
}, 2_000);

function describe(left: Unfinished): string {
  const parts = [
    left.requests && `${left.requests} request(s) unanswered`,
    left.jobs.length && `scheduled job(s) cut short: ${left.jobs.join(', ')} (each resumes from its stored state at the next start)`,
    left.usageMessages && `${left.usageMessages} accepted event message(s) on the usage queue, not counted and now LOST`,
    left.reportMessages && `${left.reportMessages} Stripe report slice(s) not reported (the next daily report covers them)`,
    left.webhookMessages &&
      `${left.webhookMessages} webhook delivery retry(ies) waiting on the queue, dropped: the deliveries stay pending (replay them with POST /v1/webhooks/{id}/deliveries/{deliveryId}/replay)`,
  ].filter(Boolean);
  return parts.length ? parts.map((p) => `  - ${p}`).join('\n') : '  nothing';
}

async function shutdown(signal: string): Promise<void> {
  if (stopping !== undefined && Date.now() - stopping < SAME_PRESS_MS) return;
  if (stopping !== undefined) {
    // The second signal: stop now, saying what the graceful stop had not finished.
    const left = await Promise.race([stack?.unfinished(), new Promise<undefined>((r) => setTimeout(r, 1_000))]).catch(() => undefined);
    console.log(`\nStopped at once.${left ? ` Left unfinished:\n${describe(left)}` : ''}`);
    process.exit(130);
  }
  stopping = Date.now();
  clearInterval(report);
  if (!stack) {
    console.log('\nStopped while starting.');
    process.exit(130);
  }
  console.log(
    `\n${signal}: stopping. The API answers 503 (Retry-After) from now; finishing the requests in flight, running jobs and the usage queue (${signal === 'Ctrl-C' ? 'Ctrl-C again' : 'SIGINT'} stops at once)...`,
  );
  const left = await stack.quiesce();
  await stack.stop();
  const lost = left.requests || left.jobs.length || left.usageMessages || left.reportMessages || left.webhookMessages;
  console.log(lost ? `Stopped. Left unfinished:\n${describe(left)}` : `Stopped; nothing left unfinished. The data stays in ${stateDir}.`);
  process.exit(0);
}
