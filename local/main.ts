import { DynamoBillingStore } from '../shared/billing/adapters/billing-store.js';
import { documentClient } from '../shared/platform/dynamo/client.js';
import { DynamoTenantDirectory } from '../shared/tenancy/adapters/tenant-directory.js';
import { demoEvents, demoStart, postEvents } from './demo-usage.js';
import { seedDemo } from './seed.js';
import { startLocalStack } from './stack.js';
import { writeLocalState } from './state.js';

/** `npm start`: the whole system on localhost with a seeded demo tenant. Ctrl-C stops everything. */
const port = Number(process.env.PORT ?? 3000);
console.log('Starting Meterline locally (DynamoDB Local, SQS emulator, API, consumer)...');
const stack = await startLocalStack({ port, prefix: 'meterline', authorizerCacheTtlMs: 0 }).catch((error: NodeJS.ErrnoException) => {
  console.error(error.code === 'EADDRINUSE' ? `Port ${port} is taken: stop what uses it, or run PORT=3001 npm start.` : error);
  process.exit(1);
});
const db = documentClient(stack.dynamo);
const seed = await seedDemo(new DynamoTenantDirectory(db, stack.env.TENANTS_TABLE!), new DynamoBillingStore(db, stack.env.BILLING_TABLE!));

// A month so far of the demo tenant's usage, through the ingest API like any product's, then the daily
// report links it to a Stripe customer (the plan page's portal needs one).
const events = demoEvents();
const since = new Date(demoStart(Date.now())).toISOString().slice(0, 10);
console.log(`Posting ${events.length.toLocaleString('en-US')} demo events (since ${since}) through the ingest API...`);
await postEvents(stack.apiUrl, seed.tenantKey, events);
await stack.drained(300_000);
await stack.runReport();
const mint = async (key: string, body: object) => {
  const res = await fetch(`${stack.apiUrl}/v1/dashboard/sessions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return ((await res.json()) as { url: string }).url;
};
const tenantLink = await mint(seed.tenantKey, { ttlMinutes: 720 });
const consoleLink = await mint(seed.adminKey, { ttlMinutes: 720 });

writeLocalState({ apiUrl: stack.apiUrl, ...seed, env: stack.env });

const now = new Date().toISOString();
console.log(`
Meterline is up at ${stack.apiUrl}

  dashboard (demo tenant, 12 h):  ${tenantLink}
  operator console (12 h):        ${consoleLink}

  demo tenant:  ${seed.tenantId} (plan ${seed.planId})
  tenant key:   ${seed.tenantKey}
  admin key:    ${seed.adminKey}
  (also in .meterline/local.json, which \`npm run admin\` reads, and .meterline/env)

In another terminal, post an event, then read it back:

  source .meterline/env
  curl -s -X POST "$METERLINE_API_URL/v1/events" -H "Authorization: Bearer $METERLINE_API_KEY" -H "Content-Type: application/json" \\
    -d '{"id":"order-1","meter":"orders","timestamp":"${now}"}'
  curl -s "$METERLINE_API_URL/v1/events/order-1" -H "Authorization: Bearer $METERLINE_API_KEY"

Ctrl-C stops everything.`);

let last = 0;
const report = setInterval(() => {
  const { records, failedRecords, invocations } = stack.consumer.stats;
  if (invocations !== last) console.log(`consumer: ${invocations} batches, ${records} messages, ${failedRecords} left for redelivery`);
  last = invocations;
}, 2_000);

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  clearInterval(report);
  console.log('\nStopping...');
  await stack.stop();
  process.exit(0);
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
