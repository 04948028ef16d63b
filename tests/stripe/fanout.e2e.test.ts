import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUsageReportWorker } from '../../functions/usage-report-worker/usage-report-worker.js';
import { lambdaContext } from '../../local/lambda.js';
import type { LocalStack } from '../../local/stack.js';
import { usageReportDependencies } from '../../shared/composition/stripe.js';
import { periodKey } from '../../shared/kernel/periods.js';
import { seedMeters } from '../../shared/metering/seed-meters.js';
import { documentClient } from '../../shared/platform/dynamo/client.js';
import { DynamoStripeStore } from '../../shared/stripe/adapters/stripe-store.js';
import type { ReportStore, UsageReporter } from '../../shared/stripe/ports.js';
import type { ReportSlice } from '../../shared/stripe/report-slices.js';
import { api, createTenant, eventually, startTestStack } from '../support/stack.js';

/**
 * The fan-out's exactly-once promise end to end, against the Stripe emulator through the real stripe-node
 * client: a slice delivered twice, and a slice whose worker dies mid-way and is delivered again, send each
 * tenant × meter × day's meter event once.
 */
const DAY = 86_400_000;
const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
const due = new Date(today + 3_600_000);
const yesterday = periodKey('day', today - DAY);
const meters = seedMeters.filter((m) => m.key === 'orders' || m.key === 'api_calls');

describe('Stripe report fan-out', () => {
  let stack: LocalStack;
  let store: DynamoStripeStore;

  /** Tenants with orders and API calls yesterday: two meter events each. */
  const tenantsWithUsage = async (prefix: string, count: number) => {
    const ids = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
    for (const tenantId of ids) {
      const key = await createTenant(stack, tenantId, meters);
      const events = ['orders', 'api_calls'].map((meter) => ({ id: `${meter}-1`, meter, timestamp: `${yesterday}T10:00:00Z` }));
      expect(await api(stack, 'POST', '/v1/events', key, { events })).toMatchObject({ status: 202 });
    }
    await stack.drained();
    return ids;
  };
  const expectedIdentifiers = (ids: string[]) => ids.flatMap((t) => [`${t}:api_calls:${yesterday}`, `${t}:orders:${yesterday}`]).sort();
  const sentFor = (ids: string[]) =>
    stack
      .stripe!.meterEvents()
      .map((e) => e.identifier as string)
      .filter((identifier) => ids.some((t) => identifier.startsWith(`${t}:`)))
      .sort();
  const pendingLeft = async (ids: string[]) => {
    let pending = 0;
    for (const t of ids) {
      for (const days of (await store.reportRecords(t, yesterday)).values()) for (const r of days.values()) if (r.pending) pending += 1;
    }
    return pending;
  };

  beforeAll(async () => {
    stack = await startTestStack();
    stack.stripe!.setWebhook(undefined);
    store = new DynamoStripeStore(documentClient(stack.dynamo), stack.env.STRIPE_TABLE!);
  });
  afterAll(() => stack.stop());

  it('sends each meter event once when the same slice is delivered twice (five workers poll, so the deliveries usually overlap)', async () => {
    const ids = await tenantsWithUsage('twice', 4);
    const slice: ReportSlice = { runId: 'run-twice', scheduledAt: due.toISOString(), slice: 0, tenantIds: ids };
    for (let i = 0; i < 2; i++) {
      await stack.sqs.send(new SendMessageCommand({ QueueUrl: stack.queues.reportQueueUrl, MessageBody: JSON.stringify(slice) }));
    }
    const depth = async () => {
      const { Attributes } = await stack.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: stack.queues.reportQueueUrl,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      return Object.values(Attributes ?? {}).reduce((sum, v) => sum + Number(v), 0);
    };
    await eventually(depth, (n) => n === 0);
    expect(stack.invocations('usage-report-worker')).toBeGreaterThanOrEqual(2);
    expect(sentFor(ids)).toEqual(expectedIdentifiers(ids));
    expect(await pendingLeft(ids)).toBe(0);
    expect(await store.sliceResults('run-twice')).toHaveLength(1);
    // A scheduled run afterwards finds everything reported.
    expect(await stack.runReport(due)).toMatchObject({ sent: 0 });
    expect(sentFor(ids)).toEqual(expectedIdentifiers(ids));
  });

  it('sends each meter event once when a worker dies after some sends and its slice comes back', async () => {
    const ids = await tenantsWithUsage('crash', 6);
    const slice: ReportSlice = { runId: 'run-crash', scheduledAt: due.toISOString(), slice: 0, tenantIds: ids };
    const event: SQSEvent = {
      Records: [
        {
          messageId: 'm-1',
          receiptHandle: 'r-1',
          body: JSON.stringify(slice),
          attributes: {
            ApproximateReceiveCount: '1',
            SentTimestamp: String(Date.now()),
            SenderId: 'local',
            ApproximateFirstReceiveTimestamp: String(Date.now()),
          },
          messageAttributes: {},
          md5OfBody: '',
          eventSource: 'aws:sqs',
          eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:reports',
          awsRegion: 'us-east-1',
        },
      ],
    };

    // The first container freezes for good once Stripe has taken three events (the third's answer never arrives):
    // from then on none of its calls returns, as when Lambda ends an invocation at its timeout.
    const frozen = new Promise<never>(() => undefined);
    let crashed = false;
    let started = 0;
    const real = usageReportDependencies();
    const gate =
      <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
      async (...args: A): Promise<R> =>
        crashed ? frozen : call(...args);
    const reporter: UsageReporter = {
      createCustomer: gate((t) => real.reporter.createCustomer(t)),
      ensureMeter: gate((r) => real.reporter.ensureMeter(r)),
      ensurePrices: gate((p, s, m) => real.reporter.ensurePrices(p, s, m)),
      ensureSubscription: gate((c, s, p, l) => real.reporter.ensureSubscription(c, s, p, l)),
      sendMeterEvent: gate(async (customerId, draft) => {
        // Tenants report concurrently: a send started after the third never reaches Stripe, so the crash lands mid-slice
        // however fast the calls before it return.
        const n = ++started;
        if (n > 3) return frozen;
        const outcome = await real.reporter.sendMeterEvent(customerId, draft);
        if (n === 3) crashed = true;
        return crashed ? frozen : outcome;
      }),
    };
    const dying: ReportStore = Object.fromEntries(
      Object.entries(Object.getOwnPropertyDescriptors(Object.getPrototypeOf(real.store)))
        .filter(([name]) => name !== 'constructor')
        .map(([name]) => [name, gate((...args: unknown[]) => (real.store as any)[name](...args))]),
    ) as unknown as ReportStore;
    const first = createUsageReportWorker({ ...real, reporter, store: dying })(event, lambdaContext('usage-report-worker', 300));
    await eventually(
      async () => crashed,
      (c) => c,
    );
    expect(sentFor(ids).length).toBeGreaterThanOrEqual(3);
    expect(sentFor(ids).length).toBeLessThan(ids.length * 2);

    // SQS hands the slice to a fresh container after the visibility timeout.
    const again = await createUsageReportWorker(usageReportDependencies())(
      { Records: [{ ...event.Records[0]!, attributes: { ...event.Records[0]!.attributes, ApproximateReceiveCount: '2' } }] },
      lambdaContext('usage-report-worker', 300),
    );
    expect(again).toEqual({ batchItemFailures: [] });
    expect(sentFor(ids)).toEqual(expectedIdentifiers(ids));
    expect(await pendingLeft(ids)).toBe(0);
    const [result] = await store.sliceResults('run-crash');
    // What the first container recorded is skipped; what it sent without recording goes out again under the same
    // identifier (and Idempotency-Key), which Stripe answers without storing a second event.
    expect(result).toMatchObject({ tenants: ids.length, failed: 0, errors: [] });
    expect(result!.sent).toBeLessThan(ids.length * 2);
    void first;
  });
});
