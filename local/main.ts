import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DynamoBillingStore } from '../shared/billing/adapters/billing-store.js';
import { documentClient } from '../shared/platform/dynamo/client.js';
import { DynamoTenantDirectory } from '../shared/tenancy/adapters/tenant-directory.js';
import { seedDemo } from './seed.js';
import { startLocalStack } from './stack.js';

/** `npm start`: the whole system on localhost with a seeded demo tenant. Ctrl-C stops everything. */
const port = Number(process.env.PORT ?? 3000);
console.log('Starting Meterline locally (DynamoDB Local, SQS emulator, API, consumer)...');
const stack = await startLocalStack({ port, prefix: 'meterline', authorizerCacheTtlMs: 0 }).catch((error: NodeJS.ErrnoException) => {
  console.error(error.code === 'EADDRINUSE' ? `Port ${port} is taken: stop what uses it, or run PORT=3001 npm start.` : error);
  process.exit(1);
});
const db = documentClient(stack.dynamo);
const seed = await seedDemo(new DynamoTenantDirectory(db, stack.env.TENANTS_TABLE!), new DynamoBillingStore(db, stack.env.BILLING_TABLE!));

const stateFile = resolve(import.meta.dirname, '..', '.meterline', 'local.json');
mkdirSync(resolve(stateFile, '..'), { recursive: true });
writeFileSync(stateFile, JSON.stringify({ apiUrl: stack.apiUrl, ...seed, env: stack.env }, null, 2));

const now = new Date().toISOString();
console.log(`
Meterline is up at ${stack.apiUrl}

  demo tenant:  ${seed.tenantId} (plan ${seed.planId})
  tenant key:   ${seed.tenantKey}
  admin key:    ${seed.adminKey}
  (also in .meterline/local.json, which \`npm run admin\` reads)

Post an event, then read it back:

  curl -s -X POST ${stack.apiUrl}/v1/events -H "Authorization: Bearer ${seed.tenantKey}" -H "Content-Type: application/json" \\
    -d '{"id":"order-1","meter":"orders","timestamp":"${now}"}'
  curl -s ${stack.apiUrl}/v1/usage/current -H "Authorization: Bearer ${seed.tenantKey}"
  curl -s ${stack.apiUrl}/v1/invoices/upcoming -H "Authorization: Bearer ${seed.tenantKey}"

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
