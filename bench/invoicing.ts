import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createAlertEvaluator } from '../functions/alert-evaluator/alert-evaluator.js';
import { runInvoicing } from '../functions/invoicing/invoicing.js';
import { startDynamoDbLocal } from '../local/dynamodb-local.js';
import { LOCAL_REGION, lambdaContext } from '../local/lambda.js';
import { createTables } from '../local/resources.js';
import { DynamoAlertStore } from '../shared/alerts/adapters/alert-store.js';
import { defaultAlerts } from '../shared/alerts/rules.js';
import { DynamoBillingStore } from '../shared/billing/adapters/billing-store.js';
import { includedQuotas, seedPlans } from '../shared/billing/plans.js';
import { newSubscription } from '../shared/billing/subscriptions.js';
import { chunk, mapLimit } from '../shared/kernel/batching.js';
import type { Granularity } from '../shared/kernel/periods.js';
import { DynamoCounterReader } from '../shared/metering/adapters/counter-reader.js';
import { counterPartition, counterSort } from '../shared/metering/aggregation.js';
import { meterQuantities } from '../shared/metering/period-usage.js';
import { seedMeters } from '../shared/metering/seed-meters.js';
import { documentClient } from '../shared/platform/dynamo/client.js';
import { DynamoTenantDirectory } from '../shared/tenancy/adapters/tenant-directory.js';
import { printTable } from './report.js';

/**
 * `npx tsx bench/invoicing.ts [tenants]`: the time the invoice job takes to close one monthly period
 * for 10,000 tenants on DynamoDB Local (seed 1's plan, five meters each, usage in every meter), and
 * the time of the idempotent re-run; then the alert evaluator's run over the same tenants, each with
 * seed 1's default rules (80% and 100% of each included quota) and a projected-spend rule. Usage is
 * written as counter rows directly: ingest has its own benchmark. Prints figures, asserts nothing.
 */
const tenants = Number(process.argv[2] ?? 10_000);
const dynamo = await startDynamoDbLocal();
try {
  const client = new DynamoDBClient({
    region: LOCAL_REGION,
    endpoint: dynamo.endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const env = await createTables(client, `bench-${Date.now()}`);
  const db = documentClient(client);
  const store = new DynamoBillingStore(db, env.BILLING_TABLE!);
  const directory = new DynamoTenantDirectory(db, env.TENANTS_TABLE!);
  const counters = new DynamoCounterReader(db, env.COUNTERS_TABLE!);
  const reader = meterQuantities(counters);

  const month = Date.UTC(2026, 9, 1);
  const ids = Array.from({ length: tenants }, (_, i) => `tenant-${String(i).padStart(5, '0')}`);
  const meters = seedMeters.filter((m) => ['orders', 'invoices', 'api_calls', 'ai_jobs', 'storage_gb'].includes(m.key));
  const seedStart = performance.now();
  await mapLimit(ids, 64, async (tenantId) => {
    for (const m of meters) await directory.putMeter(tenantId, m);
    await store.putSubscription(
      newSubscription({ tenantId, planId: 'base-199', interval: 'month', currency: 'USD', startAt: month, now: month }),
    );
  });
  const row = (tenantId: string, meter: string, granularity: Granularity, period: string, value: string) => ({
    PutRequest: {
      Item: {
        pk: counterPartition({ tenantId, meter }),
        sk: counterSort({ tenantId, meter, granularity, groupKey: '', period }),
        tenantId,
        meter,
        granularity,
        period,
        groupKey: '',
        value,
        events: 1,
      },
    },
  });
  const rows = ids.flatMap((tenantId, i) => [
    row(tenantId, 'orders', 'month', '2026-10', String(1000 + i)),
    row(tenantId, 'invoices', 'month', '2026-10', String(900 + (i % 100))),
    row(tenantId, 'api_calls', 'month', '2026-10', String(50_000 + i * 7)),
    row(tenantId, 'ai_jobs', 'month', '2026-10', String(i % 130)),
    row(tenantId, 'storage_gb', 'hour', '2026-10-01T00', String(40 + (i % 10))),
    row(tenantId, 'storage_gb', 'hour', '2026-10-15T12', String(45.5 + (i % 10))),
  ]);
  await mapLimit(chunk(rows, 25), 16, async (batch) => {
    let pending: Record<string, any>[] | undefined = batch;
    while (pending && pending.length > 0) {
      const r = await db.batchWrite({ RequestItems: { [env.COUNTERS_TABLE!]: pending } });
      pending = r.UnprocessedItems?.[env.COUNTERS_TABLE!] as Record<string, any>[] | undefined;
    }
  });
  const seedSeconds = (performance.now() - seedStart) / 1000;

  const deps = {
    store,
    reads: {
      plan: (id: string) => store.getPlan(id),
      meters: (t: string) => directory.listMeters(t),
      quantity: reader.quantity.bind(reader),
    },
    // The event bus and webhooks are not part of this measure (publish does nothing); marking invoices announced is.
    publish: async () => undefined,
    providerInvoice: async () => undefined,
    // The bench's tenants are not on Stripe.
    sendProviderItems: async () => undefined,
    graceHours: 72,
    concurrency: Number(process.env.CONCURRENCY ?? 16),
  };
  const time = Date.UTC(2026, 10, 4, 1, 5);
  const results = [];
  for (const label of ['first run: closes October for every tenant', 're-run: nothing left to close']) {
    const start = performance.now();
    const run = await runInvoicing(deps, time);
    const seconds = (performance.now() - start) / 1000;
    results.push({
      run: label,
      tenants,
      'invoices issued': run.issued,
      failed: run.failedTenants.length,
      seconds: Number(seconds.toFixed(1)),
      'invoices/s': Math.round(run.issued / seconds),
    });
  }
  const last = await store.invoiceForPeriod(ids.at(-1)!, new Date(month).toISOString());

  // The evaluator as scheduled on the period's last evening, when October's usage is all in.
  const alerts = new DynamoAlertStore(db, env.TENANTS_TABLE!);
  const plan = seedPlans.find((p) => p.id === 'base-199')!;
  await mapLimit(ids, 64, async (tenantId) => {
    for (const alert of defaultAlerts(tenantId, includedQuotas(plan), new Date(month).toISOString())) await alerts.putAlert(alert);
    await alerts.putAlert({
      id: 'spend',
      tenantId,
      kind: 'spend',
      basis: 'projected',
      amount: '500',
      createdAt: new Date(month).toISOString(),
    });
  });
  let published = 0;
  const evaluate = createAlertEvaluator({
    tenantIds: async () => ids,
    alerts,
    reads: {
      billing: deps.reads,
      quotaReads: { quantity: reader.quantity.bind(reader), level: reader.level.bind(reader) },
      subscription: (tenantId) => store.getSubscription(tenantId),
      quotas: (tenantId) => store.listQuotas(tenantId),
      credits: (tenantId) => store.credits(tenantId),
    },
    counters,
    invoices: store,
    // No tenant of the bench is on Stripe.
    sendToStripe: async () => undefined,
    // The bus and webhooks are not part of this measure; recording each firing and marking it notified is.
    publish: async () => void (published += 1),
    now: Date.now,
  });
  const evaluations = [];
  for (const label of ['first run: records and announces each crossing', 're-run: every crossing already announced']) {
    const before = published;
    const start = performance.now();
    const run = await evaluate(
      { source: 'meterline.schedule', schedule: 'alert-evaluator', time: '2026-10-31T22:00:00Z' },
      lambdaContext('alert-evaluator', 300),
    );
    const seconds = (performance.now() - start) / 1000;
    evaluations.push({
      run: label,
      tenants: run.tenants,
      announced: published - before,
      failed: run.failedTenants.length,
      seconds: Number(seconds.toFixed(1)),
      'tenants/s': Math.round(run.tenants / seconds),
    });
  }
  printTable('Alert evaluator on DynamoDB Local (3 rules per tenant; every 5 minutes in AWS)', evaluations);
  printTable(`Invoice job on DynamoDB Local (seeded ${tenants.toLocaleString('en-US')} tenants in ${seedSeconds.toFixed(1)} s)`, results);
  console.log(`\nlast tenant's invoice: ${last?.number}, total ${last?.total} ${last?.currency}`);
} finally {
  await dynamo.stop();
}
